import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthServer } from './auth-server.js';

export interface ProtectedResource {
  url: string;
  /** Requests served, by answer status. */
  counts(): { ok: number; unauthorized: number };
  stop(): Promise<void>;
}

/**
 * An API that accepts a request only when its bearer token is active at the authorization
 * server's introspection endpoint (RFC 7662) — as a real resource server would.
 */
export async function startProtectedResource(auth: AuthServer): Promise<ProtectedResource> {
  let ok = 0;
  let unauthorized = 0;
  const server = createServer(async (request, response) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    const active = match ? (await auth.introspect(match[1]!)).active : false;
    if (!active) {
      unauthorized += 1;
      response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    ok += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/resource`,
    counts: () => ({ ok, unauthorized }),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
