'use strict';
/** Jest globalTeardown: stops the redis-server that redis-global-setup.cjs started, if any. */

const STOP_TIMEOUT_MS = 5_000;

module.exports = async function redisGlobalTeardown() {
  const child = globalThis.__CEK_TEST_REDIS__;
  if (!child) return;
  globalThis.__CEK_TEST_REDIS__ = undefined;
  if (child.exitCode !== null || child.signalCode !== null) return;

  await new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
};
