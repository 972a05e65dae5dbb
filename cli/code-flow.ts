import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
import { CliError } from './errors.js';

/**
 * The operator's half of the authorization code flow with PKCE (RFC 7636) for a native
 * app on a loopback redirect (RFC 8252): it makes the verifier, challenge and state,
 * listens on the redirect URI, opens the authorization URL and waits for the code. The
 * refresher does the other half (the exchange), so the client secret stays in AWS. The
 * code and verifier are kept in memory only and are never printed. PKCE, state and the
 * authorization response's validation (state, error responses, RFC 9207 `iss` when the
 * server's metadata announces it) are oauth4webapi's.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface CodeFlowOptions {
  authorizationEndpoint: string;
  clientId: string;
  scope?: string;
  /** `http://127.0.0.1:<port>/callback`; port 0 (or none) picks a free one. */
  redirectUri: string;
  timeoutMs: number;
  /** Opens the authorization URL (the system browser, or a headless one in tests and the demo). */
  open(url: string): Promise<void>;
  /** Called with the URL when it should be shown to the operator. */
  show(url: string, opened: boolean): void;
  /** Extra authorization request parameters (e.g. `prompt=consent`). */
  extraParams?: Record<string, string>;
  /** Aborting it (Ctrl-C) stops the wait. */
  signal?: AbortSignal;
  /** The discovered metadata, when the endpoints came from an issuer (validates `iss`). */
  server?: oauth.AuthorizationServer;
}

export interface CodeFlowResult {
  code: string;
  codeVerifier: string;
  /** The exact redirect URI sent (with the port chosen). */
  redirectUri: string;
}

export function parseLoopbackRedirect(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError('--redirect-uri is not a valid URL');
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new CliError(
      '--redirect-uri must be http://127.0.0.1:<port>/<path> (a loopback address, RFC 8252)',
    );
  }
  return url;
}

export async function runCodeFlow(options: CodeFlowOptions): Promise<CodeFlowResult> {
  const redirect = parseLoopbackRedirect(options.redirectUri);
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const state = oauth.generateRandomState();
  // Without discovered metadata there is no issuer to hold an `iss` parameter against.
  const authServer: oauth.AuthorizationServer = options.server ?? {
    issuer: new URL(options.authorizationEndpoint).origin,
    authorization_endpoint: options.authorizationEndpoint,
  };
  const client: oauth.Client = { client_id: options.clientId };

  let settle!: { resolve: (code: string) => void; reject: (error: Error) => void };
  const received = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    if (req.method !== 'GET' || url.pathname !== redirect.pathname) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const page = (status: number, text: string) =>
      res
        .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(`<!doctype html><title>token-refresher</title><p>${text}</p>`);
    const params = new URLSearchParams(url.searchParams);
    if (!options.server) params.delete('iss');
    let validated: URLSearchParams;
    try {
      validated = oauth.validateAuthResponse(authServer, client, params, state);
    } catch (error) {
      if (error instanceof oauth.AuthorizationResponseError) {
        page(400, 'Authorization was not granted. You can close this tab.');
        const description = error.error_description;
        settle.reject(
          new CliError(
            `the authorization server answered ${printable(error.error, 60)}${description ? `: ${printable(description, 200)}` : ''}`,
          ),
        );
        return;
      }
      const stateWrong = params.get('state') !== state;
      page(
        400,
        stateWrong
          ? 'This response does not belong to the running token-refresher connect.'
          : 'The authorization response is not valid.',
      );
      settle.reject(
        new CliError(
          stateWrong
            ? 'the authorization response did not carry the expected state; run connect again'
            : `the authorization response is not valid (${(error as Error).message}); run connect again`,
        ),
      );
      return;
    }
    const code = validated.get('code');
    if (!code) {
      page(400, 'The response carried no authorization code.');
      settle.reject(new CliError('the authorization response carried no code; run connect again'));
      return;
    }
    page(200, 'token-refresher received the authorization. You can close this tab.');
    settle.resolve(code);
  });

  const host = redirect.hostname === '[::1]' ? '::1' : redirect.hostname;
  await listen(server, host, Number(redirect.port || 0));
  const port = (server.address() as AddressInfo).port;
  const redirectUri = `http://${redirect.hostname}:${port}${redirect.pathname}`;

  const authorization = new URL(options.authorizationEndpoint);
  const params = authorization.searchParams;
  params.set('response_type', 'code');
  params.set('client_id', options.clientId);
  params.set('redirect_uri', redirectUri);
  params.set('code_challenge', codeChallenge);
  params.set('code_challenge_method', 'S256');
  params.set('state', state);
  if (options.scope) params.set('scope', options.scope);
  for (const [key, value] of Object.entries(options.extraParams ?? {})) params.set(key, value);

  const timer = setTimeout(
    () =>
      settle.reject(
        new CliError(
          `no authorization response within ${Math.round(options.timeoutMs / 1000)} s; run connect again`,
        ),
      ),
    options.timeoutMs,
  );
  const onAbort = () =>
    settle.reject(new CliError('interrupted before the authorization arrived; nothing was connected'));
  options.signal?.addEventListener('abort', onAbort);
  try {
    let opened = true;
    try {
      await options.open(authorization.href);
    } catch {
      opened = false;
    }
    options.show(authorization.href, opened);
    const code = await received;
    return { code, codeVerifier, redirectUri };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          error.code === 'EADDRINUSE'
            ? `the redirect port ${port} is in use; pass another --redirect-uri`
            : `cannot listen on the redirect URI (${error.code ?? error.message})`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
}

/** Provider text shown to the operator: printable ASCII only, capped. */
function printable(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
