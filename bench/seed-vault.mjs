// Seeds a linked user into the service's own store, the way account linking stores one: a token
// record sealed by the service's keyring (built from dist/, against the DATA_DIR, Redis prefix or
// PostgreSQL schema and the ENCRYPTION_KEY the service runs with).
//   env: DATA_DIR | REDIS_URL + REDIS_KEY_PREFIX | DATABASE_URL + DATABASE_SCHEMA, ENCRYPTION_KEY, EXTENSION_ID, USER_ID, ACCESS_TOKEN,
//        REFRESH_TOKEN, EXPIRES_AT (epoch ms), SUCCESS_PENDING (1 to keep the first-answer message)
import { storeFromEnv } from './lib/storeFromEnv.mjs';
import { Keyring, decodeKey } from '../dist/security/keyring.js';
import { TokenVault } from '../dist/linking/vault.js';

const env = process.env;
const store = await storeFromEnv(env);
const vault = new TokenVault(store, new Keyring([decodeKey(env.ENCRYPTION_KEY)]));
await vault.link(env.EXTENSION_ID, env.USER_ID, { accessToken: env.ACCESS_TOKEN, refreshToken: env.REFRESH_TOKEN }, { expiresAt: Number(env.EXPIRES_AT), scope: 'points', tokenType: 'Bearer' });
if (env.SUCCESS_PENDING !== '1') {
  await vault.update(env.EXTENSION_ID, env.USER_ID, (r) => {
    delete r.successPending;
  });
}
await store.close();
