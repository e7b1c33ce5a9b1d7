'use strict';
/**
 * Jest globalSetup: the Redis (redis-global-setup.cjs), Redis Cluster (redis-cluster-global-setup.cjs)
 * and PostgreSQL (postgres-global-setup.cjs) the suites use.
 */
const redisGlobalSetup = require('./redis-global-setup.cjs');
const redisCluster = require('./redis-cluster-global-setup.cjs');
const postgres = require('./postgres-global-setup.cjs');

module.exports = async function globalSetup() {
  await redisGlobalSetup();
  await redisCluster.setup();
  await postgres.setup();
};
