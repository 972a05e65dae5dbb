import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionBusyError } from '../../lambda/core/errors.js';
import type { LeaseStore } from '../../lambda/core/ports.js';
import { StatusChangeRefusedError, setConnectionStatus } from '../../lambda/core/set-connection-status.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * The operator's own writes (disable / enable) follow the writers' rules: the lease, the
 * deterministic version token, the hint — and they never erase what the engine needs to
 * know about an interrupted or spent refresh token.
 */
describe('setConnectionStatus (moto)', () => {
  let auth: AuthServer;
  let h: RefresherHarness;
  let leases: LeaseStore;

  beforeAll(async () => {
    auth = await startAuthServer();
    h = await new RefresherHarness(auth).setUp();
    leases = h.ports().leases;
  });

  afterAll(async () => {
    await auth?.stop();
  });

  const deps = () => h.engine('operator');

  it('disables and enables with one version each, under the lease, keeping the tokens', async () => {
    await h.createConnection('toggle', { client: auth.client('client_secret_basic') });
    const before = await h.current('toggle');
    const disabled = await setConnectionStatus(deps(), 'toggle', 'disabled');
    expect(disabled).toMatchObject({ changed: true, status: 'disabled' });
    const after = await h.current('toggle');
    expect(after.versionId).toBe(disabled.versionId);
    expect(after.record.refreshToken).toEqual(before.record.refreshToken);
    expect(await setConnectionStatus(deps(), 'toggle', 'disabled')).toMatchObject({ changed: false });
    expect(await h.versionCount('toggle')).toBe(2);
    expect(await setConnectionStatus(deps(), 'toggle', 'active')).toMatchObject({
      changed: true,
      status: 'active',
    });
    expect((await leases.get('toggle'))?.outcome).toBe('committed');
  });

  it('refuses while a refresh holds the lease', async () => {
    await h.createConnection('busy', { client: auth.client('client_secret_basic') });
    await leases.acquire('busy', { owner: 'refresher', leaseUntil: Date.now() + 60_000 });
    await expect(setConnectionStatus(deps(), 'busy', 'disabled')).rejects.toBeInstanceOf(ConnectionBusyError);
    await leases.release('busy', 'refresher', 'not_sent');
  });

  it('refuses over a spent refresh token, and leaves the engine’s marker as it was', async () => {
    await h.createConnection('spent', { client: auth.client('client_secret_basic') });
    const { versionId } = await h.current('spent');
    await leases.acquire('spent', { owner: 'refresher', leaseUntil: Date.now() + 60_000 });
    await leases.markSending('spent', 'refresher', versionId);
    await leases.release('spent', 'refresher', 'unsaved', { sent: true });
    await expect(setConnectionStatus(deps(), 'spent', 'disabled')).rejects.toThrow(StatusChangeRefusedError);
    expect(await leases.get('spent')).toMatchObject({ sentFromVersionId: versionId, sentOutcome: 'unsaved' });
    expect((await h.current('spent')).versionId).toBe(versionId);
  });

  it('keeps an interrupted attempt’s marker on a no-op, so the engine still treats it as uncertain', async () => {
    await h.createConnection('interrupted', {
      client: auth.client('client_secret_basic'),
      record: { status: 'disabled' },
    });
    const { versionId } = await h.current('interrupted');
    // A holder that marked sending and died: its lease has expired without an outcome.
    await leases.acquire('interrupted', { owner: 'dead', leaseUntil: Date.now() + 200 });
    await leases.markSending('interrupted', 'dead', versionId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await setConnectionStatus(deps(), 'interrupted', 'disabled')).toMatchObject({ changed: false });
    const after = await leases.get('interrupted');
    expect(after).toMatchObject({ sentFromVersionId: versionId });
    // No outcome for the marker: the sender never released, so the attempt stays interrupted.
    expect(after?.sentOutcome).toBeUndefined();
  });

  it('refuses to enable a connection that needs re-authentication', async () => {
    await h.createConnection('reauth', {
      client: auth.client('client_secret_basic'),
      record: {
        status: 'reauth_required',
        lastError: { class: 'reauth_required', message: 'invalid_grant', at: new Date().toISOString() },
      },
    });
    await expect(setConnectionStatus(deps(), 'reauth', 'active')).rejects.toThrow(/needs re-authentication/);
    // Disabling it is fine, and enabling it later is still refused.
    await setConnectionStatus(deps(), 'reauth', 'disabled');
    await expect(setConnectionStatus(deps(), 'reauth', 'active')).rejects.toThrow(/needs re-authentication/);
  });
});
