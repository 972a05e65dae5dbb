import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OnDemandResponse, VERSION_UNCHECKED } from '../../lambda/contract/on-demand.js';
import type { RunSummary } from '../../lambda/core/run-refresh.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { RefresherHarness } from '../support/refresher-harness.js';
import { wrapStore } from '../support/store-wrapper.js';

/**
 * On-demand requests are authorized by knowledge (lambda/contract/on-demand.ts): a caller
 * must name the AWSCURRENT version, which only a principal that can read the secret knows.
 * The check comes before the lease and without it, so bogus requests cannot hold a lease a
 * scheduled run needs; and a caller that names anything else learns nothing.
 */
describe('on-demand requests authorized by knowledge (moto + oidc-provider)', () => {
  let auth: AuthServer;

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
  });

  afterAll(async () => {
    await auth?.stop();
  });

  const onDemand = { config: { onDemandOnly: true } };

  it('a flood of bogus requests alongside a scheduled run: every due connection is still refreshed', async () => {
    const h = await new RefresherHarness(auth, { concurrency: 4 }).setUp();
    const names = Array.from({ length: 12 }, (_, i) => `due-${i}`);
    for (const name of names) await h.createConnection(name, { client: auth.client('client_secret_basic') });

    let flooding = true;
    let bogus = 0;
    const answers: OnDemandResponse[] = [];
    const flood = async (worker: number) => {
      for (let i = 0; flooding; i += 1) {
        const name = i % 3 === 0 ? `unknown-${worker}-${i}` : names[(worker + i) % names.length]!;
        answers.push(await h.request({ connection: name, ifVersion: `made-up-${worker}-${i}` }, onDemand));
        bogus += 1;
      }
    };
    const floods = Array.from({ length: 16 }, (_, worker) => flood(worker));
    // Let the flood get going before the run starts, then keep it up until the run is done.
    while (bogus < 50) await new Promise((resolve) => setTimeout(resolve, 5));
    let summary: RunSummary;
    try {
      summary = await h.invoke();
    } finally {
      flooding = false;
      await Promise.all(floods);
    }

    expect(bogus).toBeGreaterThan(100);
    expect(summary).toMatchObject({ scanned: names.length, refreshed: names.length, failed: 0, skipped: 0 });
    expect(summary.results.filter((r) => r.status === 'skipped' && r.reason === 'in_progress')).toEqual([]);
    expect(h.metricTotal('LeaseContended')).toBe(0);
    // Every bogus caller heard the same thing, and nothing more.
    expect(new Set(answers.map((a) => JSON.stringify(Object.keys(a).sort())))).toEqual(
      new Set([JSON.stringify(['connection', 'outcome'])]),
    );
    expect(new Set(answers.map((a) => a.outcome))).toEqual(new Set(['current']));
    expect(h.leakedValues()).toEqual([]);
  });

  it('says nothing to a caller that did not name the current version: no version id, status or error text', async () => {
    const h = await new RefresherHarness(auth).setUp();
    const client = auth.client('client_secret_basic');
    const at = new Date().toISOString();
    await h.createConnection('disabled', { client, record: { status: 'disabled' } });
    await h.createConnection('broken', {
      client,
      record: { lastError: { class: 'configuration', message: 'SECRET-ISH provider detail', at } },
    });
    await h.createConnection('reauth', {
      client,
      record: { status: 'reauth_required', lastError: { class: 'reauth_required', message: 'revoked', at } },
    });
    for (const connection of ['disabled', 'broken', 'reauth', 'does-not-exist']) {
      expect(await h.request({ connection, ifVersion: 'a-version-it-never-had' }, onDemand)).toEqual({
        connection,
        outcome: 'current',
      });
    }
    // Who names the current version hears why (it can read the record anyway).
    const { versionId } = await h.current('disabled');
    expect(await h.request({ connection: 'disabled', ifVersion: versionId }, onDemand)).toMatchObject({
      outcome: 'declined',
      reason: 'not_active',
      recordStatus: 'disabled',
    });
  });

  it('a caller naming the version a commit just replaced, read stale before the lease and under it, hears only current', async () => {
    // A former consumer replays the version it knew, while reads of AWSCURRENT still return
    // it (moments after a commit): the check before the lease passes, so the lease is taken,
    // and the read under it is stale too. The lease item says that version was replaced.
    const h = await new RefresherHarness(auth).setUp();
    await h.createConnection('replayed', { client: auth.client('client_secret_basic') });
    const replaced = await h.current('replayed');
    expect((await h.invoke()).refreshed).toBe(1);
    const current = await h.current('replayed');
    const ports = h.ports();
    const store = wrapStore(ports.store, {
      getCurrent: async (secretId) =>
        secretId === `${h.prefix}replayed`
          ? { versionId: replaced.versionId, value: JSON.stringify(replaced.record) }
          : ports.store.getCurrent(secretId),
    });
    const answer = await h.request(
      { connection: 'replayed', ifVersion: replaced.versionId },
      { ...onDemand, ports: { ...ports, store } },
    );
    expect(answer).toEqual({ connection: 'replayed', outcome: 'current' });
    expect(JSON.stringify(answer)).not.toContain(current.versionId);
    expect((await h.current('replayed')).versionId).toBe(current.versionId);
  });

  it('a caller whose version cannot be checked (the read or the lease fails) hears one fixed answer', async () => {
    const h = await new RefresherHarness(auth).setUp();
    await h.createConnection('unlucky', { client: auth.client('client_secret_basic') });
    const { versionId } = await h.current('unlucky');
    const ports = h.ports();
    const down = (what: string) => Promise.reject(new Error(`${what} is down: internal detail`));
    const readDown = wrapStore(ports.store, { getCurrent: () => down('Secrets Manager') });
    const leaseDown = { ...ports.leases, acquire: () => down('DynamoDB') };
    for (const broken of [{ store: readDown }, { leases: leaseDown }]) {
      expect(
        await h.request(
          { connection: 'unlucky', ifVersion: versionId },
          { ...onDemand, ports: { ...ports, ...broken } },
        ),
      ).toEqual({
        connection: 'unlucky',
        outcome: 'failed',
        failureClass: 'transient',
        message: VERSION_UNCHECKED,
      });
    }
    expect(h.output.text()).toContain('internal detail'); // in the refresher's log only
  });

  it('requires ifVersion, and refuses a bad connection name before any AWS call', async () => {
    const h = await new RefresherHarness(auth).setUp();
    const ports = h.ports();
    let calls = 0;
    const store = wrapStore(ports.store, {
      list: (prefix) => {
        calls += 1;
        return ports.store.list(prefix);
      },
      getCurrent: (secretId) => {
        calls += 1;
        return ports.store.getCurrent(secretId);
      },
    });
    const spied = { ...ports, store };
    await expect(h.request({ connection: 'api' }, { ...onDemand, ports: spied })).rejects.toThrow(
      /must name the version it saw \(ifVersion\)/,
    );
    for (const connection of ['a/b', '*', '', 'x'.repeat(129), 'name with spaces']) {
      await expect(h.request({ connection, ifVersion: 'v1' }, { ...onDemand, ports: spied })).rejects.toThrow(
        /^invalid connection name: a connection name is 1 to 128 of/,
      );
    }
    await expect(
      h.request({ connection: 'api', ifVersion: 'v'.repeat(65) }, { ...onDemand, ports: spied }),
    ).rejects.toThrow(/^invalid ifVersion/);
    expect(calls).toBe(0);
  });
});
