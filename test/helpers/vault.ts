import { TokenVault } from '../../src/linking/vault.js';
import type { TestApp } from './app.js';

/** The app's token vault seen from a test (its store and keyring, as the service builds it): to read or age stored links. */
export function vaultOf(app: TestApp): TokenVault {
  return new TokenVault(app.store, app.services.keyring);
}
