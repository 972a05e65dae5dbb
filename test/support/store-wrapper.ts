import type { SecretStore } from '../../lambda/core/ports.js';

/**
 * A `SecretStore` that passes every call to `inner` except those in `overrides` (a spy, a
 * counter, a fault). New port methods then need no change in every test that wraps one.
 */
export function wrapStore(inner: SecretStore, overrides: Partial<SecretStore>): SecretStore {
  return {
    list: (prefix) => inner.list(prefix),
    getCurrent: (secretId) => inner.getCurrent(secretId),
    putVersion: (secretId, value, token) => inner.putVersion(secretId, value, token),
    versionExists: (secretId, versionId) => inner.versionExists(secretId, versionId),
    ...overrides,
  };
}
