import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  GENERIC_ANSWERS,
  type IssuedSet,
  REPLAY_PROVIDERS,
  type ReplayAnswer,
  type ReplayProfileName,
  type ReplayProvider,
  type ReplayRotation,
} from './providers.js';

/**
 * A loopback token endpoint that answers as each provider of lambda/providers/ does
 * (providers.ts, written from their documentation): one path per profile,
 * `<origin>/<profile>/token`. Left alone it acts as the provider: it checks the client's
 * authentication the way the provider accepts it, rotates refresh tokens (with the
 * provider's reuse window and reuse detection), expires them, and answers with the
 * provider's own success and error bodies. Tests script the next answers, count calls per
 * provider and per refresh token, and read what was sent.
 *
 *     const replay = await startProviderReplay();
 *     const { refreshToken } = replay.grant('slack', { scope: 'chat:write' });
 *     replay.tokenEndpoint('slack');             // http://127.0.0.1:PORT/slack/token
 *     replay.next('slack', 'dead_token');       // the next answer: {"ok":false,"error":"invalid_refresh_token"}
 *     replay.calls('slack'); replay.callsWith(refreshToken);
 */

export type { IssuedSet, ReplayAnswer, ReplayProfileName } from './providers.js';
export { REPLAY_PROVIDERS } from './providers.js';

/** A scripted answer: a documented one by name, a raw one, or a fault of the connection. */
export type ScriptedAnswer =
  /** The provider's success (rotating as it does), even for a refresh token it would refuse. */
  | 'success'
  /** A success body without `access_token` (a new refresh token is issued and rotated in). */
  | 'no_access_token'
  /** The refresh is processed (the token rotated), then the connection is dropped: a lost answer. */
  | 'lost'
  /** The connection is dropped before anything is processed. */
  | 'reset'
  /** A documented error of the provider (`dead_token`, `invalid_client`, ...) or a generic one. */
  | string
  | ReplayAnswer
  /**
   * The request is processed as a success would be (the refresh token rotated, a code
   * spent), then answered with what this makes of the success the provider would have sent:
   * an answer the provider garbled after rotating (an HTML 200, a refused token type), or
   * the success in another encoding (GitHub's form-encoded default).
   */
  | AfterProcessing;

/** See {@link ScriptedAnswer}: the success answer and the set it issued, to the answer sent. */
export type AfterProcessing = (success: ReplayAnswer, set: IssuedSet) => ReplayAnswer;

export interface ReplayOptions {
  /** The clock (epoch ms) for rotation windows and expiries. @default Date.now */
  now?: () => number;
  /** Per profile: rotate refresh tokens or keep them, where the provider makes it a setting. */
  rotation?: Partial<Record<ReplayProfileName, ReplayRotation>>;
}

export interface ReplayClient {
  clientId: string;
  clientSecret: string;
}

/** A token request as received (secrets included: tests assert on them; never log it). */
export interface ReplayRequest {
  profile: ReplayProfileName;
  at: number;
  contentType: string;
  accept: string;
  /** `basic` (an Authorization header), `post` (client_secret in the body) or `none`. */
  clientAuth: 'basic' | 'post' | 'none';
  params: Record<string, string>;
  /** The answer's status (0: the connection was dropped). */
  status: number;
}

export interface ProviderReplay {
  /** `http://127.0.0.1:<port>`: list it in the test deployment's allowed origins. */
  readonly origin: string;
  /** The profile's token endpoint on this server. */
  tokenEndpoint(profile: ReplayProfileName): string;
  /** The client registered at the profile's provider (for the credentials secret). */
  client(profile: ReplayProfileName): ReplayClient;
  /** A new authorization, as `connect` would have made: its first refresh token. */
  grant(profile: ReplayProfileName, options?: { scope?: string }): { refreshToken: string };
  /** An authorization code for the code exchange (single use), with the grant's scope. */
  authorizationCode(profile: ReplayProfileName, options?: { scope?: string }): string;
  /** Scripts the next answers of `profile`, in order; each request takes one. */
  next(profile: ReplayProfileName, ...answers: ScriptedAnswer[]): void;
  /** Token requests received, for one profile or in all. */
  calls(profile?: ReplayProfileName): number;
  /** Requests that presented this refresh token. */
  callsWith(refreshToken: string): number;
  /** The requests of one profile, oldest first. */
  requests(profile: ReplayProfileName): readonly ReplayRequest[];
  /** The refresh token the provider currently considers the grant's newest (undefined once revoked). */
  currentRefreshToken(grantOf: string): string | undefined;
  /** Revokes the grant `refreshToken` belongs to (the user disconnected the app). */
  revoke(refreshToken: string): void;
  /** Forgets the answers scripted for `profile` that were not given yet (counters stay). */
  clearNext(profile: ReplayProfileName): void;
  /** Forgets scripted answers and counters (grants stay). */
  resetCounters(): void;
  stop(): Promise<void>;
}

interface TokenState {
  profile: ReplayProfileName;
  grant: number;
  issuedAt: number;
  /** When a newer token replaced it (rotation). */
  replacedAt?: number;
}

interface GrantState {
  profile: ReplayProfileName;
  scope: string;
  authorizedAt: number;
  revoked: boolean;
  current: string;
}

const PROFILES = Object.keys(REPLAY_PROVIDERS) as ReplayProfileName[];

export async function startProviderReplay(options: ReplayOptions = {}): Promise<ProviderReplay> {
  const now = options.now ?? Date.now;
  const clients = new Map(
    PROFILES.map((profile) => [
      profile,
      {
        clientId: `${profile}-client-id`,
        clientSecret: `${profile}-secret-${randomBytes(9).toString('base64url')}`,
      },
    ]),
  );
  const tokens = new Map<string, TokenState>();
  const grants: GrantState[] = [];
  const codes = new Map<string, { profile: ReplayProfileName; scope: string }>();
  const scripts = new Map<ReplayProfileName, ScriptedAnswer[]>();
  const requests = new Map<ReplayProfileName, ReplayRequest[]>();
  const callsByToken = new Map<string, number>();
  const sockets = new Set<Socket>();

  const mint = (prefix: string) => `${prefix}-${randomBytes(18).toString('base64url')}`;

  const newGrant = (profile: ReplayProfileName, scope: string): string => {
    const refreshToken = mint(`${profile}-rt`);
    grants.push({ profile, scope, authorizedAt: now(), revoked: false, current: refreshToken });
    tokens.set(refreshToken, { profile, grant: grants.length - 1, issuedAt: now() });
    return refreshToken;
  };

  const provider = (profile: ReplayProfileName): ReplayProvider => REPLAY_PROVIDERS[profile];
  const rotationOf = (profile: ReplayProfileName) =>
    options.rotation?.[profile] ?? provider(profile).rotation;

  /** Why the provider would refuse `refreshToken` now, or undefined when it is good. */
  const refusal = (profile: ReplayProfileName, refreshToken: string | undefined): string | undefined => {
    const token = refreshToken === undefined ? undefined : tokens.get(refreshToken);
    if (!token || token.profile !== profile) return 'unknown';
    const spec = provider(profile);
    const grant = grants[token.grant]!;
    if (grant.revoked) return 'revoked';
    const at = now();
    if (spec.grantLifetimeSeconds && at > grant.authorizedAt + spec.grantLifetimeSeconds * 1000)
      return 'expired';
    if (spec.tokenLifetimeSeconds && at > token.issuedAt + spec.tokenLifetimeSeconds * 1000) return 'expired';
    if (token.replacedAt !== undefined && at >= token.replacedAt + spec.reuseWindowSeconds * 1000) {
      // Reuse detection: a replaced token presented after its window revokes the grant.
      if (spec.revokeFamilyOnReuse) grant.revoked = true;
      return 'reused';
    }
    return undefined;
  };

  /** A successful refresh of `refreshToken` (or a new grant's first set): rotation applied. */
  const issue = (
    profile: ReplayProfileName,
    grantIndex: number,
    presented: string | undefined,
    requestScope: string | undefined,
    firstSet: boolean,
  ): IssuedSet => {
    const spec = provider(profile);
    const grant = grants[grantIndex]!;
    const at = now();
    let refreshToken: string | undefined;
    if (firstSet) {
      refreshToken = grant.current;
    } else if (rotationOf(profile) === 'rotate') {
      for (const token of tokens.values()) {
        if (token.grant === grantIndex && token.replacedAt === undefined) token.replacedAt = at;
      }
      refreshToken = mint(`${profile}-rt`);
      tokens.set(refreshToken, { profile, grant: grantIndex, issuedAt: at });
      grant.current = refreshToken;
    } else if (spec.echoRefreshToken) {
      refreshToken = presented;
    }
    const remaining = spec.tokenLifetimeSeconds
      ? spec.tokenLifetimeSeconds
      : spec.grantLifetimeSeconds
        ? Math.max(0, Math.floor((grant.authorizedAt + spec.grantLifetimeSeconds * 1000 - at) / 1000))
        : undefined;
    return {
      accessToken: mint(`${profile}-at`),
      ...(refreshToken ? { refreshToken } : {}),
      grantScope: grant.scope,
      ...(requestScope ? { requestScope } : {}),
      ...(remaining !== undefined ? { refreshTokenExpiresIn: remaining } : {}),
      now: at,
      firstSet,
    };
  };

  const answerFor = (profile: ReplayProfileName, name: string): ReplayAnswer => {
    const spec = provider(profile);
    const answer = (spec.errors as Record<string, ReplayAnswer>)[name] ?? GENERIC_ANSWERS[name];
    if (!answer) {
      const known = [...Object.keys(spec.errors), ...Object.keys(GENERIC_ANSWERS)];
      throw new Error(`provider-replay: ${profile} has no answer "${name}" (known: ${known.join(', ')})`);
    }
    return answer;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const match = /^\/([a-z0-9-]+)\/token$/.exec(request.url ?? '');
    const profile = match?.[1] as ReplayProfileName | undefined;
    const raw = await readBody(request);
    if (request.method !== 'POST' || !profile || !(profile in REPLAY_PROVIDERS)) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    const spec = provider(profile);
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const accept = String(request.headers.accept ?? '');
    const params = parseBody(contentType, raw);
    const basic = basicCredentials(request.headers.authorization);
    const clientAuth: ReplayRequest['clientAuth'] = basic ? 'basic' : params.client_secret ? 'post' : 'none';
    const record: ReplayRequest = { profile, at: now(), contentType, accept, clientAuth, params, status: 0 };
    requests.set(profile, [...(requests.get(profile) ?? []), record]);
    const presented = params.refresh_token;
    if (presented !== undefined) callsByToken.set(presented, (callsByToken.get(presented) ?? 0) + 1);

    const send = (answer: ReplayAnswer) => {
      record.status = answer.status;
      sendAnswer(response, answer, spec.negotiatesFormat === true, accept);
    };
    const scripted = scripts.get(profile)?.shift();
    if (scripted === 'reset') {
      request.socket.destroy();
      return;
    }
    if (
      scripted !== undefined &&
      scripted !== 'success' &&
      scripted !== 'lost' &&
      scripted !== 'no_access_token' &&
      typeof scripted !== 'function'
    ) {
      send(typeof scripted === 'string' ? answerFor(profile, scripted) : scripted);
      return;
    }

    // The provider's own checks, in the order it makes them: the request, the client, the grant.
    const grantType = params.grant_type;
    const body =
      contentType === 'application/json'
        ? 'json'
        : contentType === 'application/x-www-form-urlencoded'
          ? 'form'
          : undefined;
    if (!body || !spec.bodies.includes(body)) {
      send(oauthError(400, 'invalid_request', `unsupported content type ${contentType || '(none)'}`));
      return;
    }
    const client = clients.get(profile)!;
    const presentedClient = basic ?? { id: params.client_id, secret: params.client_secret };
    if (
      clientAuth === 'none' ||
      !spec.clientAuth.includes(clientAuth) ||
      presentedClient.id !== client.clientId ||
      presentedClient.secret !== client.clientSecret
    ) {
      send(answerFor(profile, 'invalid_client'));
      return;
    }

    let set: IssuedSet;
    if (grantType === 'refresh_token') {
      const why = scripted === undefined ? refusal(profile, presented) : undefined;
      if (why !== undefined) {
        send(answerFor(profile, 'dead_token'));
        return;
      }
      const known = presented === undefined ? undefined : tokens.get(presented);
      const grantIndex = known && known.profile === profile ? known.grant : grants.length;
      if (grantIndex === grants.length) newGrant(profile, params.scope ?? '');
      set = issue(profile, grantIndex, presented, params.scope, false);
    } else if (grantType === 'authorization_code') {
      const code = codes.get(params.code ?? '');
      codes.delete(params.code ?? '');
      if (!code || code.profile !== profile) {
        send(oauthError(400, 'invalid_grant', 'invalid authorization code'));
        return;
      }
      newGrant(profile, code.scope);
      set = issue(profile, grants.length - 1, undefined, undefined, true);
    } else {
      send(oauthError(400, 'unsupported_grant_type'));
      return;
    }

    const success = spec.success(set);
    if (scripted === 'no_access_token' && typeof success.body === 'object') {
      const { access_token: _, ...rest } = success.body;
      send({ ...success, body: rest });
      return;
    }
    if (typeof scripted === 'function') {
      send(scripted(success, set));
      return;
    }
    if (scripted === 'lost') {
      // Processed (rotated) at the provider; the answer never arrives.
      record.status = 0;
      request.socket.destroy();
      return;
    }
    send(success);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`provider-replay: ${error.message}`);
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const checkProfile = (profile: string): ReplayProfileName => {
    if (!(profile in REPLAY_PROVIDERS)) throw new Error(`provider-replay: no provider "${profile}"`);
    return profile as ReplayProfileName;
  };

  return {
    origin,
    tokenEndpoint: (profile) => `${origin}/${checkProfile(profile)}/token`,
    client: (profile) => ({ ...clients.get(checkProfile(profile))! }),
    grant: (profile, grantOptions = {}) => ({
      refreshToken: newGrant(checkProfile(profile), grantOptions.scope ?? ''),
    }),
    authorizationCode: (profile, codeOptions = {}) => {
      const code = mint(`${checkProfile(profile)}-code`);
      codes.set(code, { profile, scope: codeOptions.scope ?? '' });
      return code;
    },
    next: (profile, ...answers) => {
      for (const answer of answers) {
        if (typeof answer === 'string' && !['success', 'lost', 'reset', 'no_access_token'].includes(answer)) {
          answerFor(checkProfile(profile), answer); // throws for an unknown name, now rather than mid-test
        }
      }
      scripts.set(profile, [...(scripts.get(checkProfile(profile)) ?? []), ...answers]);
    },
    calls: (profile) =>
      profile
        ? (requests.get(checkProfile(profile))?.length ?? 0)
        : [...requests.values()].reduce((n, r) => n + r.length, 0),
    callsWith: (refreshToken) => callsByToken.get(refreshToken) ?? 0,
    requests: (profile) => [...(requests.get(checkProfile(profile)) ?? [])],
    currentRefreshToken: (grantOf) => {
      const token = tokens.get(grantOf);
      const grant = token ? grants[token.grant] : undefined;
      return grant && !grant.revoked ? grant.current : undefined;
    },
    revoke: (refreshToken) => {
      const token = tokens.get(refreshToken);
      if (token) grants[token.grant]!.revoked = true;
    },
    clearNext: (profile) => {
      scripts.delete(checkProfile(profile));
    },
    resetCounters: () => {
      scripts.clear();
      requests.clear();
      callsByToken.clear();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function oauthError(status: number, error: string, description?: string): ReplayAnswer {
  return { status, body: { error, ...(description ? { error_description: description } : {}) } };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(contentType: string, raw: string): Record<string, string> {
  if (contentType === 'application/json') {
    try {
      const parsed = JSON.parse(raw) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(parsed).flatMap(([key, value]) => (typeof value === 'string' ? [[key, value]] : [])),
      );
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  if (at < 0) return undefined;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
  const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
  return { id: formDecode(decoded.slice(0, at)), secret: formDecode(decoded.slice(at + 1)) };
}

function sendAnswer(
  response: ServerResponse,
  answer: ReplayAnswer,
  negotiates: boolean,
  accept: string,
): void {
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...answer.headers };
  for (const [name, value] of Object.entries(headers)) {
    // `{resetEpoch}`: Okta's X-Rate-Limit-Reset, a minute from now.
    if (value === '{resetEpoch}') headers[name] = String(Math.floor(Date.now() / 1000) + 60);
  }
  let body: string;
  if (typeof answer.body === 'string') {
    body = answer.body;
  } else if (negotiates && !/application\/json/i.test(accept)) {
    // GitHub: form-encoded unless JSON is asked for.
    body = new URLSearchParams(
      Object.entries(answer.body).map(([key, value]): [string, string] => [key, String(value)]),
    ).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded; charset=utf-8';
  } else {
    body = JSON.stringify(answer.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  response.writeHead(answer.status, headers).end(body);
}
