// `node --import ./test/helpers/tsRun.mjs src/cli/main.ts ...`: runs a TypeScript entry point without a build.
import { register } from 'node:module';

register('./tsHooks.mjs', import.meta.url);
