import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { type ChromiumResult, chromiumAuthorize } from '../../sandbox/chromium-browser.js';
import { CliSandbox } from './support.js';

/**
 * `connect`'s browser flow in a real browser: headless Chromium (Debian's, driven by
 * playwright-core) opens the authorization URL the CLI hands its browser opener, signs in
 * and consents on the authorization server's own pages, and the loopback callback
 * completes the connection.
 */
describe('connect in a real browser (chromium, oidc-provider pages, moto)', () => {
  let auth: AuthServer;
  let sandbox: CliSandbox;

  beforeAll(async () => {
    auth = await startAuthServer({ interactive: true, accessTokenTtlSeconds: 3600 });
    sandbox = await new CliSandbox(auth).setUp();
  });

  afterAll(async () => {
    await auth?.stop();
  });

  it('signs in and consents on the provider’s pages; the loopback callback completes the connection', async () => {
    let browsed: ChromiumResult | undefined;
    const client = auth.client('client_secret_basic');
    const run = await sandbox.run(['connect', 'in-browser', ...sandbox.connectArgs(client)], {
      openBrowser: async (url) => {
        browsed = await chromiumAuthorize(url, { login: 'operator@example.com' });
      },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^connected "in-browser": access token valid for \d+m \(version \w{8}\)\n$/);
    expect(browsed?.pages).toEqual(['Sign-in', 'Authorize']);
    expect(browsed?.callbackPage).toContain(
      'token-refresher received the authorization. You can close this tab.',
    );
    const { record } = await sandbox.current('in-browser');
    expect(record).toMatchObject({ status: 'active', provider: { scope: 'openid offline_access api:read' } });
    expect(sandbox.leaked()).toEqual([]);
  }, 60_000);
});
