/**
 * An unbounded in-memory storage adapter for oidc-provider.
 *
 * The adapter bundled with oidc-provider is an LRU capped at 1000 entries: after a few
 * hundred refreshes it silently evicts dormant refresh tokens, grants and — worst for
 * these tests — consumed refresh tokens, so a replay would answer "not found" instead
 * of revoking the token family. This one keeps everything until it expires (no clock
 * tolerance) or is destroyed, for the lifetime of one fixture.
 */
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms; absent when the model has no expiry. */
  expiresAt?: number;
}

export function createMemoryAdapter(): AdapterFactory {
  const entries = new Map<string, Entry>();
  /** grantId → keys of every token issued under it, across models. */
  const grants = new Map<string, Set<string>>();

  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry?.payload;
  };

  return (model: string): Adapter => {
    const keyOf = (id: string) => `${model}:${id}`;
    const findBy = async (property: string, value: string) => {
      for (const key of entries.keys()) {
        if (!key.startsWith(`${model}:`)) continue;
        const payload = live(key);
        if (payload?.[property] === value) return payload;
      }
      return undefined;
    };

    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        entries.set(key, {
          payload,
          expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
        });
        if (typeof payload.grantId === 'string') {
          const members = grants.get(payload.grantId) ?? new Set<string>();
          grants.set(payload.grantId, members.add(key));
        }
      },
      async find(id) {
        return live(keyOf(id));
      },
      findByUid: (uid) => findBy('uid', uid),
      findByUserCode: (userCode) => findBy('userCode', userCode),
      async consume(id) {
        const payload = live(keyOf(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of grants.get(grantId) ?? []) entries.delete(key);
        grants.delete(grantId);
      },
    };
  };
}
