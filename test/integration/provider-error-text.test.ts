import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * A provider's error text is the provider's, not ours: the record (which every consumer of
 * the connection can read) keeps only the OAuth error code — when it looks like one — and a
 * fixed explanation. The sanitized description goes to the operator's log only.
 */
describe('provider error text stays out of the consumer-readable record (moto + oidc-provider)', () => {
  let auth: AuthServer;

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
  });

  afterAll(async () => {
    await auth?.stop();
  });

  const DESCRIPTION = 'PROVIDER-WORDS <script>alert(1)</script> call +1-555-0100, ticket #42';

  it('a configuration error records the code and a fixed explanation, never the description', async () => {
    const h = await new RefresherHarness(auth).setUp();
    await h.createConnection('described', { client: auth.client('client_secret_basic') });
    auth.injectFault({
      kind: 'raw',
      status: 401,
      contentType: 'application/json',
      body: JSON.stringify({ error: 'invalid_client', error_description: DESCRIPTION }),
    });
    const summary = await h.invoke();
    expect(summary.results[0]).toMatchObject({ status: 'failed', failureClass: 'configuration' });
    const { record } = await h.current('described');
    expect(record.lastError).toMatchObject({
      class: 'configuration',
      message:
        'the token endpoint refused the client: invalid_client (HTTP 401); check the client credentials ' +
        'secret, the client authentication method and the token endpoint',
    });
    expect(JSON.stringify(summary)).not.toContain('PROVIDER-WORDS');
    // The operator still sees it, sanitized, in the log.
    expect(h.output.text()).toContain('PROVIDER-WORDS');
  });

  it('an invalid_grant records no description either, and an error "code" that is prose is not repeated', async () => {
    const h = await new RefresherHarness(auth).setUp();
    await h.createConnection('revoked', { client: auth.client('client_secret_basic') });
    auth.injectFault({
      kind: 'raw',
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({ error: 'invalid_grant', error_description: DESCRIPTION }),
    });
    await h.invoke();
    const revoked = (await h.current('revoked')).record;
    expect(revoked.status).toBe('reauth_required');
    expect(revoked.lastError?.message).toMatch(/^the provider rejected the refresh token: invalid_grant\. /);
    expect(revoked.lastError?.message).not.toContain('PROVIDER-WORDS');

    await h.createConnection('prose', { client: auth.client('client_secret_basic') });
    auth.injectFault({
      kind: 'raw',
      status: 403,
      contentType: 'application/json',
      body: JSON.stringify({ error: 'PROVIDER-WORDS: your account is suspended, call us' }),
    });
    await h.invoke({ action: 'run', connections: ['prose'] });
    const prose = (await h.current('prose')).record;
    expect(prose.lastError?.message).toMatch(
      /^the token endpoint refused the client: unrecognized_error \(HTTP 403\)/,
    );
  });
});
