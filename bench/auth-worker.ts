/**
 * The authorization server peer, in its own process (forked by auth-peer.ts) so that its
 * CPU time is not charged to the refresher's event loop: the tests' oidc-provider fixture
 * (rotating single-use refresh tokens, reuse detection) behind its token-endpoint proxy.
 */
import { type AuthServer, startAuthServer } from '../sandbox/auth-server.js';
import type { AuthRequest, AuthResponse } from './auth-peer.js';

const accessTokenTtlSeconds = Number(process.env.BENCH_ACCESS_TOKEN_TTL ?? '300');
const server: AuthServer = await startAuthServer({ accessTokenTtlSeconds });

function reply(message: AuthResponse): void {
  process.send?.(message);
}

process.on('message', (raw) => {
  const request = raw as AuthRequest;
  handle(request).then(
    (result) => reply({ id: request.id, ok: true, result }),
    (error: unknown) => reply({ id: request.id, ok: false, error: String(error) }),
  );
});

async function handle(request: AuthRequest): Promise<unknown> {
  switch (request.type) {
    case 'mint': {
      const tokens: string[] = [];
      for (let i = 0; i < request.count; i += 1) {
        tokens.push(await server.mintRefreshToken({ clientId: request.clientId }));
      }
      return tokens;
    }
    case 'fault':
      server.injectFault(request.fault);
      return null;
    case 'clear':
      server.clearFaults();
      return null;
    case 'stats': {
      const presented = server.presentedRefreshTokens();
      return {
        presented: presented.length,
        answered200: presented.filter((p) => p.status === 200).length,
        reused: server.reusedRefreshTokens().filter((r) => r.replayedAfterConsumption).length,
        cpuMs: cpuMs(),
      };
    }
    case 'stop':
      await server.stop();
      setImmediate(() => process.exit(0));
      return null;
  }
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

reply({ id: 0, ok: true, result: { tokenEndpoint: server.tokenEndpoint, clients: server.clients } });
