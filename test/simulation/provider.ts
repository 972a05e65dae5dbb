import { HttpTokenEndpoint } from '../../lambda/adapters/http-token-endpoint.js';
import type { RefreshGrantRequest, TokenEndpoint, TokenEndpointOutcome } from '../../lambda/core/ports.js';
import type { FaultKind } from './faults.js';
import type { SimProfile } from './profiles.js';
import { type Invocation, type Net, never } from './runtime.js';

/** A simulated provider: a real profile (`profiles.ts`) and its client. */
export interface ProviderConfig extends SimProfile {
  clientId: string;
  clientSecret: string;
}

/** What the provider knows of each connection's grant (its configuration at the provider). */
export interface GrantSettings {
  /** Access-token lifetime. */
  lifetimeMs: number;
  /** Whether refresh tokens rotate (a profile whose model is `optional` decides per connection). */
  rotating: boolean;
  /** The `token_type` the provider sends this connection's tokens with. */
  tokenType: string;
}

/** One token set the provider issued (a successful refresh or the initial code exchange). */
export interface IssuedSet {
  id: number;
  connection: string;
  family: number;
  /** The refresh token presented for it (absent for the initial code exchange). */
  from?: string;
  accessToken: string;
  /** The new refresh token; absent when the provider does not rotate. */
  refreshToken?: string;
  issuedAt: number;
  /** Provider-side expiry of the access token. */
  expiresAt: number;
  rotating: boolean;
  /** When the refresh token this set leaves the connection with dies, if its lifetimes say. */
  refreshTokenExpiresAt?: number;
  /** Issued for a replaced refresh token presented again inside the provider's reuse window. */
  grace?: boolean;
}

interface Family {
  id: number;
  connection: string;
  provider: ProviderConfig;
  rotating: boolean;
  /** When the grant was authorized: an absolute refresh-token lifetime counts from it. */
  grantedAt: number;
  revoked?: { at: number; reason: 'reuse' | 'user' | 'reconnect' };
}

interface RefreshTokenState {
  value: string;
  family: Family;
  /** Its last use (its issue, for a rotating provider): an idle lifetime counts from it. */
  lastUsedAt: number;
  /**
   * Set when a rotating provider processed it successfully: when it was first replaced (a
   * reuse window counts from it), and the latest set issued for it.
   */
  consumed?: { at: number; set: IssuedSet };
}

interface AccessTokenState {
  set: IssuedSet;
  family: Family;
  revokedAt?: number;
}

/** Why a provider answered that a refresh token is dead. */
export type DeadReason = 'reuse' | 'revoked' | 'unknown' | 'expired_absolute' | 'expired_idle';

/** What the invariant checker is told about the provider. */
export interface ProviderObserver {
  /** The engine sent `refreshToken` (at send time). Returns a handle for the presentation. */
  presented(refreshToken: string, connection: string | undefined, inv: Invocation, at: number): number;
  /** The provider processed presentation `handle`. */
  processed(handle: number, result: ProcessResult, at: number): void;
  /** The engine received the answer to presentation `handle` (alive, at `at`). */
  answered(handle: number, outcome: TokenEndpointOutcome, set: IssuedSet | undefined, at: number): void;
  /** The answer to presentation `handle` will never reach the engine. */
  unanswered(handle: number, why: string, set: IssuedSet | undefined, at: number): void;
  familyRevoked(connection: string, family: number, reason: 'reuse' | 'user', at: number): void;
  /**
   * A request reached an endpoint other than its refresh token's own provider (the insider's
   * sink, or another provider), or carried another provider's client secret.
   */
  misdirected(inv: Invocation, connection: string | undefined, where: string, what: string): void;
}

export type ProcessResult =
  | { kind: 'tokens'; set: IssuedSet }
  | { kind: 'dead'; why: DeadReason }
  | { kind: 'refused'; status: number; retryAfterMs?: number }
  | { kind: 'not_processed' };

/**
 * The authorization server of every simulated provider, as its profile's behaviour says:
 * rotating refresh tokens are single use — a replaced one presented again inside the
 * provider's reuse window (Xero: 30 min) gets a new set, after it (or anywhere on a strict
 * provider) revokes the whole family and its access tokens; a refresh token unused for the
 * idle lifetime, or presented after the grant's absolute lifetime, is dead. Access-token
 * lifetimes are per connection; a resource server validates access tokens for consumers.
 */
export class AuthorizationServer {
  private families: Family[] = [];
  private readonly refreshTokens = new Map<string, RefreshTokenState>();
  private readonly accessTokens = new Map<string, AccessTokenState>();
  private setCounter = 0;
  private tokenCounter = 0;
  /** Current family per connection. */
  readonly familyOf = new Map<string, Family>();

  constructor(
    private readonly net: Net,
    private readonly grantOf: (connection: string) => GrantSettings,
    private observer?: ProviderObserver,
  ) {}

  setObserver(observer: ProviderObserver): void {
    this.observer = observer;
  }

  private token(kind: 'A' | 'R', connection: string): string {
    this.tokenCounter += 1;
    return `SIMTOKEN-${kind}-${connection}-${this.tokenCounter}-${this.net.chaos.hex(20)}`;
  }

  /**
   * Authorization-code exchange for a (re)connect at `now`: a new family and its first
   * token set. `grantedAt` (default `now`) places the authorization earlier, for grants
   * made before the run started.
   */
  connect(connection: string, provider: ProviderConfig, now: number, grantedAt = now): IssuedSet {
    const old = this.familyOf.get(connection);
    if (old && !old.revoked) old.revoked = { at: now, reason: 'reconnect' };
    const family: Family = {
      id: this.families.length + 1,
      connection,
      provider,
      rotating: this.grantOf(connection).rotating,
      grantedAt,
    };
    this.families.push(family);
    this.familyOf.set(connection, family);
    const refreshToken = this.token('R', connection);
    this.refreshTokens.set(refreshToken, { value: refreshToken, family, lastUsedAt: now });
    return this.issue(family, undefined, refreshToken, now);
  }

  private issue(
    family: Family,
    from: string | undefined,
    refreshToken: string | undefined,
    now: number,
  ): IssuedSet {
    this.setCounter += 1;
    const set: IssuedSet = {
      id: this.setCounter,
      connection: family.connection,
      family: family.id,
      from,
      accessToken: this.token('A', family.connection),
      refreshToken,
      issuedAt: now,
      expiresAt: now + this.grantOf(family.connection).lifetimeMs,
      rotating: family.rotating,
    };
    const rtExpiry = this.refreshTokenExpiry(family, now);
    if (rtExpiry !== undefined) set.refreshTokenExpiresAt = rtExpiry;
    this.accessTokens.set(set.accessToken, { set, family });
    return set;
  }

  /** When a refresh token used (or issued) at `now` dies: its idle lifetime, the grant's absolute one. */
  private refreshTokenExpiry(family: Family, now: number): number | undefined {
    const { idleLifetimeSeconds: idle, absoluteLifetimeSeconds: absolute } =
      family.provider.behaviour.rotation;
    const candidates = [
      ...(idle !== undefined ? [now + idle * 1000] : []),
      ...(absolute !== undefined ? [family.grantedAt + absolute * 1000] : []),
    ];
    return candidates.length > 0 ? Math.min(...candidates) : undefined;
  }

  /** When the grant of `connection`'s current family reaches its absolute lifetime, if it has one. */
  absoluteExpiryOf(connection: string): { family: number; at: number } | undefined {
    const family = this.familyOf.get(connection);
    const absolute = family?.provider.behaviour.rotation.absoluteLifetimeSeconds;
    return family && absolute !== undefined
      ? { family: family.id, at: family.grantedAt + absolute * 1000 }
      : undefined;
  }

  /** Processes a refresh grant at the instant it arrives. */
  process(refreshToken: string, provider: ProviderConfig, now: number): ProcessResult {
    const state = this.refreshTokens.get(refreshToken);
    if (!state || state.family.provider !== provider) return { kind: 'dead', why: 'unknown' };
    const { family } = state;
    if (family.revoked) return { kind: 'dead', why: 'revoked' };
    const {
      reuseWindowSeconds,
      idleLifetimeSeconds: idle,
      absoluteLifetimeSeconds: absolute,
    } = provider.behaviour.rotation;
    if (absolute !== undefined && now >= family.grantedAt + absolute * 1000) {
      return { kind: 'dead', why: 'expired_absolute' };
    }
    if (idle !== undefined && now >= state.lastUsedAt + idle * 1000)
      return { kind: 'dead', why: 'expired_idle' };
    if (!family.rotating) {
      state.lastUsedAt = now;
      return { kind: 'tokens', set: this.issue(family, state.value, undefined, now) };
    }
    if (state.consumed) {
      if (now < state.consumed.at + reuseWindowSeconds * 1000) {
        // Inside the reuse window the replaced token still works: a new set, no theft.
        const set = this.rotate(family, state.value, now);
        set.grace = true;
        state.consumed.set = set;
        return { kind: 'tokens', set };
      }
      this.revoke(family, 'reuse', now);
      return { kind: 'dead', why: 'reuse' };
    }
    const set = this.rotate(family, state.value, now);
    state.consumed = { at: now, set };
    return { kind: 'tokens', set };
  }

  private rotate(family: Family, from: string, now: number): IssuedSet {
    const next = this.token('R', family.connection);
    this.refreshTokens.set(next, { value: next, family, lastUsedAt: now });
    return this.issue(family, from, next, now);
  }

  /** The user or an admin revoked the grant. */
  revokeGrant(connection: string, now: number): boolean {
    const family = this.familyOf.get(connection);
    if (!family || family.revoked) return false;
    this.revoke(family, 'user', now);
    return true;
  }

  private revoke(family: Family, reason: 'reuse' | 'user', now: number): void {
    family.revoked = { at: now, reason };
    this.observer?.familyRevoked(family.connection, family.id, reason, now);
  }

  /** Revokes one access token early (the consumer's next API call gets 401). */
  revokeAccessToken(value: string, now: number): void {
    const state = this.accessTokens.get(value);
    if (state && state.revokedAt === undefined) state.revokedAt = now;
  }

  /** The resource server's check of a bearer token. */
  validate(accessToken: string, now: number): 'ok' | 'unknown' | 'expired' | 'revoked' {
    const state = this.accessTokens.get(accessToken);
    if (!state) return 'unknown';
    if (
      state.revokedAt !== undefined ||
      (state.family.revoked && state.family.revoked.reason !== 'reconnect')
    )
      return 'revoked';
    if (state.set.expiresAt <= now) return 'expired';
    return 'ok';
  }

  accessTokenSet(value: string): IssuedSet | undefined {
    return this.accessTokens.get(value)?.set;
  }

  refreshTokenConnection(value: string): string | undefined {
    return this.refreshTokens.get(value)?.family.connection;
  }

  /** The provider that issued a refresh token. */
  refreshTokenProvider(value: string): ProviderConfig | undefined {
    return this.refreshTokens.get(value)?.family.provider;
  }

  /** The latest set issued for `value` (a successful answer to it was produced), if any. */
  consumedSet(value: string): IssuedSet | undefined {
    return this.refreshTokens.get(value)?.consumed?.set;
  }

  /** When a rotating provider first replaced `value`: its reuse window counts from then. */
  replacedAt(value: string): number | undefined {
    return this.refreshTokens.get(value)?.consumed?.at;
  }

  /** Whether the provider would still refresh with `value` at `now` (alive, not consumed beyond its window). */
  accepts(value: string, now: number): boolean {
    const state = this.refreshTokens.get(value);
    if (!state) return false;
    const result = this.deadReason(state, now);
    return result === undefined;
  }

  private deadReason(state: RefreshTokenState, now: number): DeadReason | undefined {
    const { family } = state;
    if (family.revoked) return 'revoked';
    const {
      reuseWindowSeconds,
      idleLifetimeSeconds: idle,
      absoluteLifetimeSeconds: absolute,
    } = family.provider.behaviour.rotation;
    if (absolute !== undefined && now >= family.grantedAt + absolute * 1000) return 'expired_absolute';
    if (idle !== undefined && now >= state.lastUsedAt + idle * 1000) return 'expired_idle';
    if (family.rotating && state.consumed && now >= state.consumed.at + reuseWindowSeconds * 1000)
      return 'reuse';
    return undefined;
  }

  familyRevoked(connection: string): boolean {
    return Boolean(this.familyOf.get(connection)?.revoked);
  }
}

/** An HTTP answer as the provider (or a proxy in front of it) sends it. */
interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A rejected `fetch` as undici rejects it: `TypeError: fetch failed` caused by a system error. */
function fetchFailed(code: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`sim: ${code}`), { code }) });
}

/** What one token request in flight knows: its presentation and the set the provider issued. */
interface Exchange {
  handle: number;
  /** The engine's timeout for the request (the adapter's abort timer's). */
  timeoutMs: number;
  set?: IssuedSet;
  /** The answer was lost (or never came): already reported to the observer. */
  lost?: boolean;
}

/**
 * The `TokenEndpoint` port of one invocation: the real HTTP adapter (`HttpTokenEndpoint`,
 * request encoding and answer reading alike) over a simulated `fetch`. The request reaches
 * the provider after a short request leg and is processed there at one instant — even if
 * the sender has died meanwhile; the answer (the provider's HTTP answer, with its quirks)
 * comes back after a response leg, unless it is slower than the request timeout or lost in
 * transit (then `fetch` rejects as undici does, and the adapter reads it as sent), or the
 * sender is dead.
 *
 * The adapter arms a real timer for its own timeout; the simulated `fetch` settles every
 * live request first (a request that outlives its timeout fails with ETIMEDOUT at the
 * virtual deadline), so that timer never fires for a live one. A request of a dead sender
 * never settles, and its timer fires into nothing.
 */
export class SimTokenEndpoint implements TokenEndpoint {
  constructor(
    private readonly net: Net,
    private readonly server: AuthorizationServer,
    private readonly providers: Map<string, ProviderConfig>,
    private readonly observer: ProviderObserver,
    private readonly inv: Invocation,
    private readonly clockNow: () => number,
    private readonly grantOf: (connection: string) => GrantSettings,
  ) {}

  async refresh(request: RefreshGrantRequest): Promise<TokenEndpointOutcome> {
    const { net, inv } = this;
    if (!inv.alive) return never();
    inv.steps += 1;
    if (net.crash.maybeCrash(inv, 'before token request')) return never();
    const exchange: Exchange = { handle: -1, timeoutMs: request.timeoutMs };
    const http = new HttpTokenEndpoint({
      fetch: ((url: URL | string, init?: RequestInit) =>
        this.fetch(exchange, String(url), init)) as typeof fetch,
      now: this.clockNow,
    });
    const outcome = await http.refresh(request);
    // The answer arrived (or the request failed) at this virtual instant.
    const at = net.sched.now;
    if (!inv.alive) return never();
    if (net.crash.maybeCrash(inv, 'after token request')) {
      this.observer.unanswered(exchange.handle, 'sender died as the answer arrived', exchange.set, at);
      return never();
    }
    const salvaged = outcome.kind === 'invalid_response' && outcome.refreshToken !== undefined;
    if (exchange.set && !exchange.lost && outcome.kind !== 'tokens' && !salvaged) {
      // The provider issued a set the adapter could not read (a body cut off by a proxy).
      this.observer.unanswered(exchange.handle, 'malformed 2xx', exchange.set, at);
    }
    this.observer.answered(
      exchange.handle,
      outcome,
      outcome.kind === 'tokens' || salvaged ? exchange.set : undefined,
      at,
    );
    return outcome;
  }

  /** The network and the provider, behind `fetch`. */
  private fetch(exchange: Exchange, url: string, init: RequestInit | undefined): Promise<Response> {
    const { net, inv } = this;
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const sent = readGrant(headers, String(init?.body ?? ''));
    const provider = this.providers.get(url);
    const owner = this.server.refreshTokenProvider(sent.refreshToken);
    if (
      !provider ||
      (owner !== undefined && owner !== provider) ||
      sent.clientId !== provider.clientId ||
      sent.clientSecret !== provider.clientSecret
    ) {
      // The insider's endpoint (a sink), or another provider: it answers as a server that
      // does not know this client would, but the token and the client secret are gone.
      const where = provider ? `${provider.id}'s token endpoint` : new URL(url).origin;
      this.observer.misdirected(
        inv,
        this.server.refreshTokenConnection(sent.refreshToken),
        where,
        'a refresh token and a client secret',
      );
      return this.answerAfter(init, net.latency.between(50, 300), {
        status: 401,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'invalid_client' }),
      });
    }
    if (sent.dialect !== provider.dialect || sent.clientAuth !== provider.clientAuth) {
      throw new Error(`sim: ${provider.id} got a ${sent.dialect}/${sent.clientAuth} request`);
    }
    const now = net.sched.now;
    const connection = this.server.refreshTokenConnection(sent.refreshToken);
    const scope = { connection: connection ?? '(unknown)' };
    const providerScope = { provider: provider.id };
    const handle = this.observer.presented(sent.refreshToken, connection, inv, now);
    exchange.handle = handle;
    // A skewed clock shows in the expiry the engine records for this refresh.
    if (inv.clockFault) net.faults.touch(scope, now);
    const note = (kind: FaultKind) => net.note(kind, scope);
    const rates = net.faults.rates;

    // Decided at send time: what the network and the provider will do with this request.
    const roll = net.chaos.next();
    let acc = 0;
    const pick = (p: number) => {
      acc += p;
      return roll < acc;
    };
    type Plan =
      | 'normal'
      | 'refused'
      | '5xx'
      | '429'
      | 'timeout'
      | 'slow'
      | 'answer_lost'
      | 'request_lost'
      | 'malformed_rotated'
      | 'malformed_unprocessed'
      | 'unusable_rotated';
    let plan: Plan = 'normal';
    if (pick(rates.providerRefused)) plan = 'refused';
    else if (pick(rates.provider5xx)) plan = '5xx';
    else if (pick(rates.provider429)) plan = '429';
    else if (pick(rates.providerTimeout)) plan = 'timeout';
    else if (pick(rates.providerSlow)) plan = 'slow';
    else if (pick(rates.providerAnswerLost)) plan = 'answer_lost';
    else if (pick(rates.providerRequestLost)) plan = 'request_lost';
    else if (pick(rates.providerMalformedRotated)) plan = 'malformed_rotated';
    else if (pick(rates.providerMalformedUnprocessed)) plan = 'malformed_unprocessed';
    else if (pick(rates.providerUnusableRotated)) plan = 'unusable_rotated';
    const planFault: Partial<Record<Plan, FaultKind>> = {
      refused: 'provider_refused',
      '5xx': 'provider_5xx',
      '429': 'provider_429',
      timeout: 'provider_timeout',
      slow: 'provider_slow',
      answer_lost: 'provider_answer_lost',
      request_lost: 'provider_request_lost',
      malformed_rotated: 'provider_malformed_rotated',
      malformed_unprocessed: 'provider_malformed_unprocessed',
      unusable_rotated: 'provider_unusable_rotated',
    };
    const fault = planFault[plan];
    if (fault) note(fault);

    if (plan === 'refused') {
      // Provably never sent (DNS, refused connection): nothing reaches the provider.
      this.observer.processed(handle, { kind: 'not_processed' }, now);
      return this.failAfter(exchange, net.latency.between(1, 30), fetchFailed('ECONNREFUSED'));
    }

    const { timeoutMs } = exchange;
    const requestMs = net.latency.between(20, 150);
    let responseMs = net.latency.between(50, 600);
    if (plan === 'slow') responseMs = net.chaos.between(2_000, timeoutMs * 0.9);
    if (plan === 'timeout') responseMs = timeoutMs + net.chaos.between(1, 20_000);
    const brownout = net.faults.active('provider_brownout', now + requestMs, provider.id);
    if (brownout) {
      net.faults.touch(providerScope, now);
      responseMs += net.chaos.between(3_000, 15_000);
    }

    return new Promise<Response>((resolve, reject) => {
      let answer: HttpAnswer | undefined;
      // The request arrives at the provider.
      net.sched.after(requestMs, () => {
        const at = net.sched.now;
        if (plan === 'request_lost' || plan === 'malformed_unprocessed') {
          this.observer.processed(handle, { kind: 'not_processed' }, at);
          // A proxy's error page in a 200, or nothing at all.
          if (plan === 'malformed_unprocessed') answer = htmlAnswer(200);
          return;
        }
        let result: ProcessResult;
        const episode = net.faults.active('provider_rate_limited', at, provider.id);
        if (net.faults.active('provider_outage', at, provider.id)) {
          net.faults.touch(providerScope, at);
          result = { kind: 'refused', status: 503 };
        } else if (episode) {
          net.faults.touch(providerScope, at);
          // Until the episode ends, at most: a Retry-After that outlives a run is honoured across runs.
          const untilEnd = Math.max(1_000, episode.end - at);
          result = { kind: 'refused', status: 429, retryAfterMs: net.chaos.between(1_000, untilEnd) };
        } else if (plan === '5xx') {
          result = { kind: 'refused', status: net.chaos.pick([500, 502, 503, 504]) };
        } else if (plan === '429') {
          result = { kind: 'refused', status: 429, retryAfterMs: net.chaos.intBetween(1, 20) * 1000 };
        } else {
          result = this.server.process(sent.refreshToken, provider, at);
        }
        this.observer.processed(handle, result, at);
        if (result.kind === 'tokens') exchange.set = result.set;
        answer = this.answerOf(provider, result, sent, headers, plan, at);
      });
      const answerAt = requestMs + responseMs;
      const lostAnswer = plan === 'answer_lost' || plan === 'request_lost';
      if (answerAt > timeoutMs || lostAnswer) {
        // Our own timeout (or a reset): sent, maybe processed, answer lost.
        const failAt = lostAnswer ? Math.min(timeoutMs, answerAt) : timeoutMs;
        net.sched.after(failAt, () => {
          exchange.lost = true;
          this.observer.unanswered(
            handle,
            lostAnswer ? 'lost in transit' : 'timeout',
            exchange.set,
            net.sched.now,
          );
          if (inv.alive) reject(fetchFailed(lostAnswer ? 'ECONNRESET' : 'ETIMEDOUT'));
        });
        return;
      }
      net.sched.after(answerAt, () => {
        if (!inv.alive) {
          exchange.lost = true;
          this.observer.unanswered(handle, 'sender dead', exchange.set, net.sched.now);
          return;
        }
        if (init?.signal?.aborted) throw new Error("sim: the HTTP adapter's real timeout fired first");
        if (!answer) {
          reject(fetchFailed('ECONNRESET'));
          return;
        }
        resolve(new Response(answer.body, { status: answer.status, headers: answer.headers }));
      });
    });
  }

  /** The provider's HTTP answer to a processed request, as its profile says it looks. */
  private answerOf(
    provider: ProviderConfig,
    result: ProcessResult,
    sent: SentGrant,
    requestHeaders: Record<string, string>,
    plan: string,
    at: number,
  ): HttpAnswer {
    const { wire } = provider;
    const format =
      wire.formUnlessJsonAccepted && !/application\/json/.test(requestHeaders.accept ?? '') ? 'form' : 'json';
    const okMember: Record<string, boolean> = wire.okMember ? { ok: result.kind === 'tokens' } : {};
    switch (result.kind) {
      case 'tokens': {
        const { set } = result;
        const grant = this.grantOf(set.connection);
        const fields: Record<string, string | number | boolean> = {
          ...okMember,
          access_token: set.accessToken,
          token_type: grant.tokenType,
        };
        if (!wire.omitsExpiresIn) fields.expires_in = Math.round((set.expiresAt - set.issuedAt) / 1000);
        if (set.refreshToken) fields.refresh_token = set.refreshToken;
        const field = provider.behaviour.response.refreshTokenExpiresInField;
        if (field !== undefined && set.refreshTokenExpiresAt !== undefined) {
          fields[field] = Math.floor((set.refreshTokenExpiresAt - at) / 1000);
        }
        if (sent.scope !== undefined || provider.scope !== undefined)
          fields.scope = sent.scope ?? provider.scope!;
        for (const name of provider.behaviour.response.keepFields ?? []) {
          fields[name] = providerField(name, set.connection, at);
        }
        if (plan === 'malformed_rotated') {
          // A proxy cut the body off: the token set is in the part that never arrived.
          const body = JSON.stringify(fields);
          return { status: 200, headers: { 'content-type': 'application/json' }, body: body.slice(0, 24) };
        }
        // Read in full but unusable: the adapter refuses it and hands the new refresh token over.
        if (plan === 'unusable_rotated') fields.expires_in = 'soon';
        return encode(200, format, fields);
      }
      case 'dead': {
        const { dead } = wire;
        return encode(dead.status, format, {
          ...okMember,
          [dead.codeField]: dead.code,
          [dead.descriptionField]: 'the refresh token is invalid, expired or revoked',
        });
      }
      case 'refused': {
        const header = provider.behaviour.errors.retryAfterHeader;
        const retry =
          result.retryAfterMs !== undefined
            ? { [header]: String(Math.ceil(result.retryAfterMs / 1000)) }
            : {};
        if (result.status !== 429)
          return { ...htmlAnswer(result.status), headers: { 'content-type': 'text/html', ...retry } };
        const body = JSON.stringify(
          wire.okMember ? { ok: false, error: 'ratelimited' } : { error: 'rate_limited' },
        );
        return { status: 429, headers: { 'content-type': 'application/json', ...retry }, body };
      }
      case 'not_processed':
        return htmlAnswer(502);
    }
  }

  /** Answers `answer` after `afterMs`, if the sender is still alive (no presentation: nothing was processed). */
  private answerAfter(init: RequestInit | undefined, afterMs: number, answer: HttpAnswer): Promise<Response> {
    return new Promise((resolve) => {
      this.net.sched.after(afterMs, () => {
        if (!this.inv.alive) return;
        if (init?.signal?.aborted) throw new Error("sim: the HTTP adapter's real timeout fired first");
        resolve(new Response(answer.body, { status: answer.status, headers: answer.headers }));
      });
    });
  }

  private failAfter(exchange: Exchange, afterMs: number, error: Error): Promise<Response> {
    return new Promise((_resolve, reject) => {
      this.net.sched.after(afterMs, () => {
        if (!this.inv.alive) {
          this.observer.unanswered(exchange.handle, 'sender dead', undefined, this.net.sched.now);
          return;
        }
        reject(error);
      });
    });
  }
}

/** What a token request carried, read from the wire as a provider reads it. */
interface SentGrant {
  dialect: 'json' | 'form';
  clientAuth: 'client_secret_post' | 'client_secret_basic';
  refreshToken: string;
  scope?: string;
  clientId?: string;
  clientSecret?: string;
}

function readGrant(headers: Record<string, string>, body: string): SentGrant {
  const dialect = headers['content-type'] === 'application/json' ? 'json' : 'form';
  const fields: Record<string, string> =
    dialect === 'json'
      ? (JSON.parse(body) as Record<string, string>)
      : Object.fromEntries(new URLSearchParams(body));
  const basic = /^Basic (.+)$/.exec(headers.authorization ?? '')?.[1];
  let clientId = fields.client_id;
  let clientSecret = fields.client_secret;
  if (basic !== undefined) {
    const [id = '', secret = ''] = Buffer.from(basic, 'base64').toString('utf8').split(':');
    // Each part is form-encoded (RFC 6749 §2.3.1).
    clientId = new URLSearchParams(`v=${id}`).get('v') ?? '';
    clientSecret = new URLSearchParams(`v=${secret}`).get('v') ?? '';
  }
  return {
    dialect,
    clientAuth: basic !== undefined ? 'client_secret_basic' : 'client_secret_post',
    refreshToken: fields.refresh_token ?? '',
    ...(fields.scope !== undefined ? { scope: fields.scope } : {}),
    ...(clientId !== undefined ? { clientId } : {}),
    ...(clientSecret !== undefined ? { clientSecret } : {}),
  };
}

function encode(
  status: number,
  format: 'json' | 'form',
  fields: Record<string, string | number | boolean>,
): HttpAnswer {
  if (format === 'json') {
    return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) };
  }
  const pairs = Object.entries(fields).map(([name, value]): [string, string] => [name, String(value)]);
  return {
    status,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams(pairs).toString(),
  };
}

function htmlAnswer(status: number): HttpAnswer {
  return { status, headers: { 'content-type': 'text/html' }, body: '<html><body>Bad Gateway</body></html>' };
}

/** A value for a field a profile keeps for consumers (`instance_url`, `app_id`): harmless, per connection. */
function providerField(name: string, connection: string, at: number): string {
  switch (name) {
    case 'instance_url':
      return `https://${connection}.my.salesforce.com`;
    case 'id':
      return `https://login.salesforce.com/id/00Dsim/${connection}`;
    case 'issued_at':
      return String(at);
    default:
      return `${name}-${connection}`;
  }
}
