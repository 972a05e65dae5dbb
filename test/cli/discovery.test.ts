import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCodeFlow } from '../../cli/code-flow.js';
import { discoverServer } from '../../cli/oauth-metadata.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { CliSandbox, expectOneLine } from './support.js';

/**
 * Discovery and the authorization response on oauth4webapi, against real HTTP servers: a
 * metadata server with tenants under paths (RFC 8414's inserted well-known path), one that
 * names another issuer, and a host that does not resolve.
 */
describe('discovery, PKCE, state and callback validation (oauth4webapi)', () => {
  let metadata: Server;
  let base: string;
  const served: string[] = [];
  let auth: AuthServer;
  let sandbox: CliSandbox;

  beforeAll(async () => {
    metadata = createServer((req, res) => {
      served.push(req.url ?? '');
      const json = (body: unknown) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      // RFC 8414 §3.1: the well-known path goes between the host and the issuer's path.
      if (req.url === '/.well-known/oauth-authorization-server/tenant-a') {
        return json({
          issuer: `${base}/tenant-a`,
          authorization_endpoint: `${base}/tenant-a/authorize`,
          token_endpoint: `${base}/tenant-a/token`,
        });
      }
      if (req.url === '/impostor/.well-known/openid-configuration') {
        return json({ issuer: `${base}/someone-else`, authorization_endpoint: `${base}/authorize` });
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}`;
    auth = await startAuthServer({ autoApprove: true });
    sandbox = await new CliSandbox(auth).setUp();
  });

  afterAll(async () => {
    await new Promise((resolve) => metadata.close(resolve));
    await auth?.stop();
  });

  it('inserts the well-known path before an issuer path (RFC 8414), after trying OpenID Connect discovery', async () => {
    served.length = 0;
    const found = await discoverServer(`${base}/tenant-a`, true);
    expect(found).toMatchObject({
      authorizationEndpoint: `${base}/tenant-a/authorize`,
      tokenEndpoint: `${base}/tenant-a/token`,
      metadataUrl: `${base}/.well-known/oauth-authorization-server/tenant-a`,
    });
    expect(served).toEqual([
      '/tenant-a/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server/tenant-a',
    ]);
  });

  it('refuses metadata that names another issuer, in one line, before any AWS call', async () => {
    const run = await sandbox.run([
      'connect',
      'x',
      '--issuer',
      `${base}/impostor`,
      '--client-id',
      'c',
      '--allow-insecure-localhost',
    ]);
    expectOneLine(
      run,
      new RegExp(
        `^token-refresher: the metadata at ${base}/impostor/\\.well-known/openid-configuration names issuer ` +
          `"${base}/someone-else", not "${base}/impostor" \\(RFC 8414 §3\\.3: they must be equal\\)`,
      ),
    );
    expect(run.code).toBe(1);
  });

  it('says the real network cause: a host that does not resolve', async () => {
    const args = ['connect', 'x', '--issuer', 'https://no-such-host.invalid', '--client-id', 'c'];
    const run = await sandbox.run(args);
    expectOneLine(
      run,
      /^token-refresher: could not reach https:\/\/no-such-host\.invalid\/\.well-known\/openid-configuration: (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid$/,
    );
    expect(run.code).toBe(7);
    const json = await sandbox.run([...args, '--json']);
    expect(JSON.parse(json.stderr).error).toMatchObject({
      code: 'environment',
      metadataUrl: expect.stringContaining('no-such-host'),
    });
  });

  /** Runs the loopback half of the flow, answering the redirect with `answer(state)`'s query. */
  async function callback(
    answer: (state: string) => Record<string, string>,
    server?: Parameters<typeof runCodeFlow>[0]['server'],
  ): Promise<unknown> {
    let challenge = '';
    const flow = runCodeFlow({
      authorizationEndpoint: `${base}/authorize`,
      clientId: 'c',
      redirectUri: 'http://127.0.0.1:0/callback',
      timeoutMs: 5_000,
      ...(server ? { server } : {}),
      open: async (url) => {
        const request = new URL(url);
        challenge = request.searchParams.get('code_challenge') ?? '';
        expect(request.searchParams.get('code_challenge_method')).toBe('S256');
        const redirect = new URL(request.searchParams.get('redirect_uri')!);
        for (const [key, value] of Object.entries(answer(request.searchParams.get('state')!)))
          redirect.searchParams.set(key, value);
        void fetch(redirect).catch(() => {});
      },
      show: () => {},
    });
    return flow.then(
      (result) => ({ ...result, challenge }),
      (error: Error) => error.message,
    );
  }

  it('accepts the response with its state (PKCE S256), and refuses a wrong state, an error response and a wrong iss', async () => {
    const ok = (await callback((state) => ({ code: 'the-code', state }))) as {
      code: string;
      codeVerifier: string;
      challenge: string;
    };
    expect(ok.code).toBe('the-code');
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(ok.codeVerifier).digest('base64url')).toBe(ok.challenge);

    expect(await callback(() => ({ code: 'c', state: 'forged' }))).toBe(
      'the authorization response did not carry the expected state; run connect again',
    );
    expect(
      await callback((state) => ({ error: 'access_denied', error_description: 'the user said no', state })),
    ).toBe('the authorization server answered access_denied: the user said no');
    // RFC 9207: a server that announces `iss` in its responses must send its own.
    const server = {
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      authorization_response_iss_parameter_supported: true,
    };
    expect(await callback((state) => ({ code: 'c', state, iss: 'https://evil.example' }), server)).toMatch(
      /^the authorization response is not valid \(.*iss.*\); run connect again$/,
    );
    expect(await callback((state) => ({ code: 'c', state, iss: base }), server)).toMatchObject({ code: 'c' });
  });
});
