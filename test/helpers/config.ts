import { ConfigError } from '../../src/config/env.js';

/** The problems a configuration is refused with (fails the test when `fn` does not refuse it). */
export function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
