import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthServerClient } from '../../sandbox/auth-server.js';

/**
 * A loopback token endpoint that answers as real providers do, from their documentation
 * (each model below cites it): the engine's proof against replayed provider answers
 * (test/integration/provider-replay.test.ts). One server serves every provider, each at
 * `/<provider>/token`, and counts the requests each receives.
 *
 * This is the engine's own small replay server; the profiles' replay server
 * (`sandbox/provider-replay/`) replaces it once it lands.
 */

/** One HTTP answer. */
export interface ReplayAnswer {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
}

/** A token set the provider issues. */
export interface Issued {
  accessToken: string;
  /** Absent when the provider does not rotate: the presented refresh token stays valid. */
  refreshToken?: string;
}

/** How one provider answers at its token endpoint, written from its documentation. */
export interface ProviderModel {
  /** Whether each refresh returns a new refresh token (and retires the one presented). */
  rotates: boolean;
  /** Seconds a retired refresh token is still accepted (Xero: 1800). */
  reuseWindowSeconds?: number;
  /** The documented success answer. */
  success(issued: Issued): ReplayAnswer;
  /** The documented answer to a dead (revoked, expired, reused) refresh token. */
  dead(): ReplayAnswer;
}

/** What the provider does with the next requests, instead of its normal behaviour. */
export type Fault =
  | { kind: 'answer'; answer: ReplayAnswer }
  /** Processes the request (rotating as usual) but answers this instead of the success. */
  | { kind: 'answer_after_rotating'; answer: (issued: Issued) => ReplayAnswer }
  /** Processes the request and drops the connection without answering (a lost answer). */
  | { kind: 'drop_after_rotating' }
  /** Drops the connection without processing the request (also a lost answer, to the client). */
  | { kind: 'drop' };

interface ProviderState {
  model: ProviderModel;
  /** Refresh token → when it was retired (undefined: live). */
  tokens: Map<string, number | undefined>;
  calls: number;
  faults: { fault: Fault; remaining: number }[];
  /** Refresh tokens presented, in order. */
  presented: string[];
}

export interface ReplayServer {
  /** `http://127.0.0.1:<port>`. */
  issuer: string;
  /** The first provider's endpoint (for the harness; use `endpoint(name)`). */
  tokenEndpoint: string;
  jsonTokenEndpoint: string;
  clients: readonly AuthServerClient[];
  /** The token endpoint of `provider`. */
  endpoint(provider: string): string;
  /** A live refresh token of `provider`, for a new connection. */
  mintFor(provider: string): string;
  /** Requests `provider` received. */
  calls(provider: string): number;
  /** The next `count` requests to `provider` get `fault`. */
  injectFault(provider: string, fault: Fault, count?: number): void;
  clearFaults(provider: string): void;
  /** Retires every refresh token of `provider` (a user revoking the app). */
  revokeAll(provider: string): void;
  presentedRefreshTokens(): { refreshToken: string }[];
  stop(): Promise<void>;
}

export const REPLAY_CLIENT: AuthServerClient = {
  clientId: 'replay-client',
  clientSecret: 'replay-client-secret-5a7c9e1b3d',
  authMethod: 'client_secret_post',
};

const token = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

async function readForm(request: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((request.headers['content-type'] ?? '').startsWith('application/json')) {
    return JSON.parse(text) as Record<string, string>;
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** Starts the replay server with `models` by provider name. */
export async function startReplayServer(models: Record<string, ProviderModel>): Promise<ReplayServer> {
  const providers = new Map<string, ProviderState>(
    Object.entries(models).map(([name, model]) => [
      name,
      { model, tokens: new Map(), calls: 0, faults: [], presented: [] },
    ]),
  );
  const server = createServer((request, response) => {
    const name = /^\/([a-z0-9-]+)\/token$/.exec(request.url ?? '')?.[1];
    const state = name !== undefined ? providers.get(name) : undefined;
    void readForm(request).then(
      (form) => {
        if (state === undefined) {
          response.writeHead(404).end();
          return;
        }
        state.calls += 1;
        const send = (answer: ReplayAnswer) => {
          const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
          const headers = {
            ...(typeof answer.body === 'string' ? {} : { 'content-type': 'application/json' }),
            ...answer.headers,
          };
          response.writeHead(answer.status, headers).end(body);
        };
        const presented = form.refresh_token ?? '';
        state.presented.push(presented);
        const okClient =
          form.client_id === REPLAY_CLIENT.clientId && form.client_secret === REPLAY_CLIENT.clientSecret;
        const pending = state.faults[0];
        if (pending) {
          pending.remaining -= 1;
          if (pending.remaining <= 0) state.faults.shift();
          if (pending.fault.kind === 'answer') return send(pending.fault.answer);
          if (pending.fault.kind === 'drop') {
            response.socket?.destroy();
            return;
          }
        }
        if (!okClient || form.grant_type !== 'refresh_token') {
          return send({ status: 401, body: { error: 'invalid_client' } });
        }
        const retiredAt = state.tokens.get(presented);
        const window = (state.model.reuseWindowSeconds ?? 0) * 1000;
        const live =
          state.tokens.has(presented) && (retiredAt === undefined || Date.now() - retiredAt < window);
        if (!live) {
          if (state.tokens.has(presented) && !window) {
            // Reuse of a retired token: a strict provider revokes the whole family.
            for (const key of state.tokens.keys()) state.tokens.set(key, 0);
          }
          return send(state.model.dead());
        }
        const issued: Issued = { accessToken: token('at-') };
        if (state.model.rotates) {
          issued.refreshToken = token('rt-');
          state.tokens.set(issued.refreshToken, undefined);
          if (retiredAt === undefined) state.tokens.set(presented, Date.now());
        }
        if (pending?.fault.kind === 'answer_after_rotating') return send(pending.fault.answer(issued));
        if (pending?.fault.kind === 'drop_after_rotating') {
          response.socket?.destroy();
          return;
        }
        return send(state.model.success(issued));
      },
      () => response.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const first = [...providers.keys()][0] ?? 'none';
  const stateOf = (provider: string) => {
    const state = providers.get(provider);
    if (!state) throw new Error(`unknown replay provider ${provider}`);
    return state;
  };
  return {
    issuer,
    tokenEndpoint: `${issuer}/${first}/token`,
    jsonTokenEndpoint: `${issuer}/${first}/token`,
    clients: [REPLAY_CLIENT],
    endpoint: (provider) => `${issuer}/${provider}/token`,
    mintFor: (provider) => {
      const refreshToken = token('rt-');
      stateOf(provider).tokens.set(refreshToken, undefined);
      return refreshToken;
    },
    calls: (provider) => stateOf(provider).calls,
    injectFault: (provider, fault, count = 1) => {
      stateOf(provider).faults.push({ fault, remaining: count });
    },
    clearFaults: (provider) => {
      stateOf(provider).faults.length = 0;
    },
    revokeAll: (provider) => {
      const state = stateOf(provider);
      for (const key of state.tokens.keys()) state.tokens.set(key, 0);
    },
    presentedRefreshTokens: () =>
      [...providers.values()].flatMap((state) => state.presented.map((refreshToken) => ({ refreshToken }))),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
