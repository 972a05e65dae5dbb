import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '../../lambda/adapters/secrets-manager-store.js';
import type { LeaseOutcome, LeaseState, LeaseStore } from '../../lambda/core/ports.js';
import { removeConnection } from '../../lambda/core/remove-connection.js';
import { setConnectionStatus } from '../../lambda/core/set-connection-status.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * The marker rule (docs/refresh-transaction.md): what a lease item knows about the last
 * refresh token sent — its version and how that attempt ended — survives every acquisition
 * and every release that does not send again: every skip path, and the operator's disable,
 * enable and remove. Real peers: moto (the serial launcher) and oidc-provider.
 */
describe('the spent-token marker survives every path that does not send (moto + oidc-provider)', () => {
  let auth: AuthServer;
  let h: RefresherHarness;
  let leases: LeaseStore;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    auth = await startAuthServer();
    h = await new RefresherHarness(auth).setUp();
    leases = h.ports().leases;
  });

  afterAll(async () => {
    await auth?.stop();
  });

  /** A connected record whose access token is valid for an hour, refreshed `agoMs` ago. */
  async function freshConnection(name: string, agoMs = 60_000, expiresInMs = HOUR) {
    const now = Date.now();
    await h.createConnection(name, {
      client: auth.client('client_secret_basic'),
      record: {
        accessToken: `access-token-of-${name}`,
        tokenType: 'Bearer',
        expiresAt: new Date(now + expiresInMs).toISOString(),
        refreshedAt: new Date(now - agoMs).toISOString(),
      },
    });
    return (await h.current(name)).versionId;
  }

  /**
   * Leaves the marker an earlier refresher would: it sent this version's refresh token and
   * ended `outcome` (or, with none, died before releasing: an interrupted attempt).
   */
  async function markSent(name: string, versionId: string, outcome: LeaseOutcome | undefined) {
    const leaseUntil = Date.now() + (outcome === undefined ? 150 : 60_000);
    await leases.acquire(name, { owner: 'earlier-refresher', leaseUntil });
    await leases.markSending(name, 'earlier-refresher', versionId);
    if (outcome !== undefined) await leases.release(name, 'earlier-refresher', outcome, { sent: true });
    else await new Promise((resolve) => setTimeout(resolve, 200));
  }

  function marker(state: LeaseState | undefined) {
    return { sentFromVersionId: state?.sentFromVersionId, sentOutcome: state?.sentOutcome };
  }

  const variants: [string, LeaseOutcome | undefined][] = [
    ['an answer lost (ambiguous)', 'ambiguous'],
    ['an interrupted attempt (no outcome)', undefined],
  ];

  it.each(variants)('(c) every skip path keeps the marker of %s', async (_label, outcome) => {
    const name = `skips-${outcome ?? 'interrupted'}`;
    const versionId = await freshConnection(name);
    await markSent(name, versionId, outcome);
    const expected = { sentFromVersionId: versionId, sentOutcome: outcome };
    expect(marker(await leases.get(name))).toEqual(expected);
    const presented = auth.presentedRefreshTokens().length;

    // Not due: read under the lease (the run names the connection), skipped as fresh.
    const notDue = await h.invoke({ action: 'run', connections: [name] });
    expect(notDue.results[0]).toMatchObject({ status: 'skipped', reason: 'fresh' });
    expect(marker(await leases.get(name))).toEqual(expected);

    // A consumer's 401 within the minimum interval: declined.
    expect(await h.request({ connection: name, ifVersion: versionId })).toMatchObject({
      outcome: 'declined',
      reason: 'min_interval',
    });
    expect(marker(await leases.get(name))).toEqual(expected);

    // A consumer's 401 on an old version: answered "current" (and nothing else), without the lease.
    expect(await h.request({ connection: name, ifVersion: 'an-older-version' })).toEqual({
      connection: name,
      outcome: 'current',
    });
    expect(marker(await leases.get(name))).toEqual(expected);

    // Another invocation holds the lease: skipped in progress, the item untouched.
    await leases.acquire(name, { owner: 'someone-else', leaseUntil: Date.now() + 60_000 });
    const busy = await h.invoke({ action: 'run', connections: [name] });
    expect(busy.results[0]).toMatchObject({ status: 'skipped', reason: 'in_progress' });
    await leases.release(name, 'someone-else', 'not_sent');
    expect(marker(await leases.get(name))).toEqual(expected);

    expect(auth.presentedRefreshTokens()).toHaveLength(presented);
    expect(h.leakedValues()).toEqual([]);
  });

  it('(c) the version floor and the minimum interval keep it too', async () => {
    // Expired, but refreshed 2 minutes ago: the version floor holds it back.
    const floored = 'skips-floor';
    const flooredVersion = await freshConnection(floored, 2 * 60_000, -60_000);
    await markSent(floored, flooredVersion, 'ambiguous');
    const run = await h.invoke({ action: 'run', connections: [floored] });
    expect(run.results[0]).toMatchObject({ status: 'skipped', reason: 'version_quota' });
    expect(marker(await leases.get(floored))).toEqual({
      sentFromVersionId: flooredVersion,
      sentOutcome: 'ambiguous',
    });

    // Expiring within the window, but refreshed a minute ago: the minimum interval holds it back.
    const interval = 'skips-interval';
    const intervalVersion = await freshConnection(interval, 60_000, 5 * 60_000);
    await markSent(interval, intervalVersion, undefined);
    const second = await h.invoke({ action: 'run', connections: [interval] });
    expect(second.results[0]).toMatchObject({ status: 'skipped', reason: 'min_interval' });
    expect(marker(await leases.get(interval))).toEqual({
      sentFromVersionId: intervalVersion,
      sentOutcome: undefined,
    });
  });

  it.each(variants)('(d) disable, enable and remove keep the marker of %s', async (_label, outcome) => {
    const name = `operator-${outcome ?? 'interrupted'}`;
    const v1 = await freshConnection(name);
    await markSent(name, v1, outcome);
    const expected = { sentFromVersionId: v1, sentOutcome: outcome };
    const operator = h.engine('operator');

    const disabled = await setConnectionStatus(operator, name, 'disabled');
    const afterDisable = await leases.get(name);
    expect(marker(afterDisable)).toEqual(expected);
    expect(afterDisable?.lastCommit).toEqual({ fromVersionId: v1, versionId: disabled.versionId });

    const enabled = await setConnectionStatus(operator, name, 'active');
    const afterEnable = await leases.get(name);
    expect(marker(afterEnable)).toEqual(expected);
    expect(afterEnable?.lastCommit).toEqual({
      fromVersionId: disabled.versionId,
      versionId: enabled.versionId,
    });

    const removed = await removeConnection(operator, new SecretsManagerStore(h.secretsManager), name, 7);
    expect(removed.deletionDate).toBeInstanceOf(Date);
    const afterRemove = await leases.get(name);
    expect(marker(afterRemove)).toEqual(expected);
    expect(afterRemove).toMatchObject({ outcome: 'not_sent', lastCommit: afterEnable?.lastCommit });
  });
});
