import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A token endpoint somewhere a token must not go: it counts every request it receives. */
export interface CountingServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** `<origin>/token`. */
  tokenEndpoint: string;
  /** Requests received so far (any method, any path). */
  requests(): number;
  stop(): Promise<void>;
}

/**
 * Starts a plain HTTP server on loopback that answers every request like a token endpoint
 * issuing a token set (the most tempting answer), or with `answer` — and counts them.
 */
export async function startCountingServer(
  answer?: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<CountingServer> {
  let count = 0;
  const server = createServer((request, response) => {
    count += 1;
    request.resume();
    request.on('end', () => {
      if (answer) return answer(request, response);
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          access_token: 'at-from-the-wrong-place-0001',
          token_type: 'Bearer',
          expires_in: 3600,
          refresh_token: 'rt-from-the-wrong-place-0001',
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    tokenEndpoint: `${origin}/token`,
    requests: () => count,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
