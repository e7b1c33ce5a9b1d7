'use strict';
/** Jest globalTeardown: undoes test/global-setup.cjs (stops the private Redis and Redis Cluster, drops the run's database). */
const redisGlobalTeardown = require('./redis-global-teardown.cjs');
const redisCluster = require('./redis-cluster-global-setup.cjs');
const postgres = require('./postgres-global-setup.cjs');

module.exports = async function globalTeardown() {
  try {
    await postgres.teardown();
  } finally {
    await Promise.allSettled([redisCluster.teardown(), redisGlobalTeardown()]);
  }
};
