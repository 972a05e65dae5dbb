import type {
  ClientAuthMethod,
  RefreshGrantRequest,
  TokenDialect,
  TokenEndpoint,
  TokenEndpointOutcome,
} from '../../lambda/core/ports.js';
import type { FaultKind } from './faults.js';
import { type Invocation, type Net, never } from './runtime.js';

export interface ProviderConfig {
  id: string;
  tokenEndpoint: string;
  dialect: TokenDialect;
  clientAuth: ClientAuthMethod;
  clientId: string;
  clientSecret: string;
  /** Strict rotation: single-use refresh tokens, whole-family revocation on reuse. */
  rotating: boolean;
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
}

interface Family {
  id: number;
  connection: string;
  provider: ProviderConfig;
  revoked?: { at: number; reason: 'reuse' | 'user' | 'reconnect' };
}

interface RefreshTokenState {
  value: string;
  family: Family;
  /** Set when a rotating provider processed it successfully. */
  consumed?: { at: number; set: IssuedSet };
}

interface AccessTokenState {
  set: IssuedSet;
  family: Family;
  revokedAt?: number;
}

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
  | { kind: 'invalid_grant'; why: 'reuse' | 'revoked' | 'unknown' }
  | { kind: 'refused'; status: number; retryAfterMs?: number }
  | { kind: 'not_processed' };

/**
 * A strict OAuth 2.0 authorization server for every simulated provider: single-use
 * refresh tokens (for rotating providers), reuse of a consumed token revokes the whole
 * family (and its access tokens), per-connection access-token lifetimes, and a resource
 * server that validates access tokens for consumers' API calls.
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
    private readonly lifetimeMs: (connection: string) => number,
    private observer?: ProviderObserver,
  ) {}

  setObserver(observer: ProviderObserver): void {
    this.observer = observer;
  }

  private token(kind: 'A' | 'R', connection: string): string {
    this.tokenCounter += 1;
    return `SIMTOKEN-${kind}-${connection}-${this.tokenCounter}-${this.net.chaos.hex(20)}`;
  }

  /** Authorization-code exchange for a (re)connect: a new family and its first token set. */
  connect(connection: string, provider: ProviderConfig, now: number): IssuedSet {
    const old = this.familyOf.get(connection);
    if (old && !old.revoked) old.revoked = { at: now, reason: 'reconnect' };
    const family: Family = { id: this.families.length + 1, connection, provider };
    this.families.push(family);
    this.familyOf.set(connection, family);
    const refreshToken = this.token('R', connection);
    this.refreshTokens.set(refreshToken, { value: refreshToken, family });
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
      expiresAt: now + this.lifetimeMs(family.connection),
      rotating: family.provider.rotating,
    };
    this.accessTokens.set(set.accessToken, { set, family });
    return set;
  }

  /** Processes a refresh grant at the instant it arrives. */
  process(request: RefreshGrantRequest, provider: ProviderConfig, now: number): ProcessResult {
    if (
      request.credentials.clientId !== provider.clientId ||
      request.credentials.clientSecret !== provider.clientSecret
    ) {
      throw new Error(`sim: wrong client credentials presented to ${provider.id}`);
    }
    const state = this.refreshTokens.get(request.refreshToken);
    if (!state || state.family.provider !== provider) return { kind: 'invalid_grant', why: 'unknown' };
    const { family } = state;
    if (family.revoked) return { kind: 'invalid_grant', why: 'revoked' };
    if (!provider.rotating) return { kind: 'tokens', set: this.issue(family, state.value, undefined, now) };
    if (state.consumed) {
      this.revoke(family, 'reuse', now);
      return { kind: 'invalid_grant', why: 'reuse' };
    }
    const next = this.token('R', family.connection);
    this.refreshTokens.set(next, { value: next, family });
    const set = this.issue(family, state.value, next, now);
    state.consumed = { at: now, set };
    return { kind: 'tokens', set };
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

  /** Whether `value` was consumed (a successful answer to it was produced). */
  consumedSet(value: string): IssuedSet | undefined {
    return this.refreshTokens.get(value)?.consumed?.set;
  }

  familyRevoked(connection: string): boolean {
    return Boolean(this.familyOf.get(connection)?.revoked);
  }
}

const BODY_OF = {
  invalid_grant: { error: 'invalid_grant', description: 'refresh token is invalid, expired or revoked' },
} as const;

/**
 * The `TokenEndpoint` port of one invocation. The request reaches the provider after a
 * short request leg and is processed there at one instant — even if the sender has died
 * meanwhile; the answer comes back after a response leg, unless it is slower than the
 * request timeout (the engine then sees `network`, `requestSent: true`, and the provider
 * may well have rotated), lost in transit, or the sender is dead.
 */
export class SimTokenEndpoint implements TokenEndpoint {
  constructor(
    private readonly net: Net,
    private readonly server: AuthorizationServer,
    private readonly providers: Map<string, ProviderConfig>,
    private readonly observer: ProviderObserver,
    private readonly inv: Invocation,
  ) {}

  refresh(request: RefreshGrantRequest): Promise<TokenEndpointOutcome> {
    const { net, inv } = this;
    if (!inv.alive) return never();
    inv.steps += 1;
    if (net.crash.maybeCrash(inv, 'before token request')) return never();
    const provider = this.providers.get(request.tokenEndpoint);
    const owner = this.server.refreshTokenProvider(request.refreshToken);
    if (
      !provider ||
      (owner !== undefined && owner !== provider) ||
      request.credentials.clientId !== provider.clientId ||
      request.credentials.clientSecret !== provider.clientSecret
    ) {
      // The insider's endpoint (a sink), or another provider: it answers as a server that
      // does not know this client would, but the token and the client secret are gone.
      const where = provider ? `${provider.id}'s token endpoint` : `${new URL(request.tokenEndpoint).origin}`;
      this.observer.misdirected(
        inv,
        this.server.refreshTokenConnection(request.refreshToken),
        where,
        'a refresh token and a client secret',
      );
      return this.deliver(-1, net.latency.between(50, 300), {
        kind: 'oauth_error',
        status: 401,
        error: 'invalid_client',
      });
    }
    const now = net.sched.now;
    const connection = this.server.refreshTokenConnection(request.refreshToken);
    const scope = { connection: connection ?? '(unknown)' };
    const providerScope = { provider: provider.id };
    const handle = this.observer.presented(request.refreshToken, connection, inv, now);
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
      | 'malformed_unprocessed';
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
    };
    const fault = planFault[plan];
    if (fault) note(fault);

    if (plan === 'refused') {
      // Provably never sent (DNS, refused connection): nothing reaches the provider.
      this.observer.processed(handle, { kind: 'not_processed' }, now);
      return this.deliver(handle, net.latency.between(1, 30), {
        kind: 'network',
        requestSent: false,
        reason: 'ECONNREFUSED',
      });
    }

    const requestMs = net.latency.between(20, 150);
    let responseMs = net.latency.between(50, 600);
    if (plan === 'slow') responseMs = net.chaos.between(2_000, request.timeoutMs * 0.9);
    if (plan === 'timeout') responseMs = request.timeoutMs + net.chaos.between(1, 20_000);
    const brownout = net.faults.active('provider_brownout', now + requestMs, provider.id);
    if (brownout) {
      net.faults.touch(providerScope, now);
      responseMs += net.chaos.between(3_000, 15_000);
    }

    return new Promise<TokenEndpointOutcome>((resolve) => {
      let processedSet: { set?: IssuedSet } = {};
      let outcome: TokenEndpointOutcome | undefined;
      // The request arrives at the provider.
      net.sched.after(requestMs, () => {
        const at = net.sched.now;
        if (plan === 'request_lost' || plan === 'malformed_unprocessed') {
          this.observer.processed(handle, { kind: 'not_processed' }, at);
          outcome =
            plan === 'malformed_unprocessed'
              ? {
                  kind: 'invalid_response',
                  status: 200,
                  code: 'not_json',
                  reason: 'the response is not JSON (text/html)',
                }
              : undefined;
          return;
        }
        let result: ProcessResult;
        if (net.faults.active('provider_outage', at, provider.id)) {
          net.faults.touch(providerScope, at);
          result = { kind: 'refused', status: 503 };
        } else if (net.faults.active('provider_rate_limited', at, provider.id)) {
          net.faults.touch(providerScope, at);
          result = { kind: 'refused', status: 429, retryAfterMs: net.chaos.intBetween(1, 30) * 1000 };
        } else if (plan === '5xx') {
          result = { kind: 'refused', status: net.chaos.pick([500, 502, 503, 504]) };
        } else if (plan === '429') {
          result = { kind: 'refused', status: 429, retryAfterMs: net.chaos.intBetween(1, 20) * 1000 };
        } else {
          result = this.server.process(request, provider, at);
        }
        this.observer.processed(handle, result, at);
        if (result.kind === 'tokens') processedSet = { set: result.set };
        outcome = this.outcomeOf(result, request, plan);
      });
      const answerAt = requestMs + responseMs;
      const lostAnswer = plan === 'answer_lost' || plan === 'request_lost';
      if (answerAt > request.timeoutMs || lostAnswer) {
        // Our own abort (or a reset): sent, maybe processed, answer lost.
        const failAt = lostAnswer ? Math.min(request.timeoutMs, answerAt) : request.timeoutMs;
        net.sched.after(failAt, () => {
          this.observer.unanswered(
            handle,
            lostAnswer ? 'lost in transit' : 'timeout',
            processedSet.set,
            net.sched.now,
          );
          this.settle(handle, resolve, {
            kind: 'network',
            requestSent: true,
            reason: lostAnswer ? 'ECONNRESET' : 'timeout',
          });
        });
        return;
      }
      net.sched.after(answerAt, () => {
        const got = outcome ?? { kind: 'network', requestSent: true, reason: 'ECONNRESET' };
        const set = got.kind === 'tokens' ? processedSet.set : undefined;
        if (plan === 'malformed_rotated' && processedSet.set) {
          this.observer.unanswered(handle, 'malformed 2xx', processedSet.set, net.sched.now);
          this.settle(handle, resolve, {
            kind: 'invalid_response',
            status: 200,
            code: 'bad_expires_in',
            reason: 'expires_in is missing or not a positive number',
          });
          return;
        }
        this.settle(handle, resolve, got, set);
      });
    });
  }

  private outcomeOf(result: ProcessResult, request: RefreshGrantRequest, plan: string): TokenEndpointOutcome {
    switch (result.kind) {
      case 'tokens': {
        const { set } = result;
        return {
          kind: 'tokens',
          tokens: {
            accessToken: set.accessToken,
            tokenType: 'Bearer',
            expiresIn: Math.round((set.expiresAt - set.issuedAt) / 1000),
            ...(set.refreshToken ? { refreshToken: set.refreshToken } : {}),
            ...(request.scope ? { scope: request.scope } : {}),
          },
        };
      }
      case 'invalid_grant':
        return { kind: 'oauth_error', status: 400, ...BODY_OF.invalid_grant };
      case 'refused':
        return { kind: 'http_error', status: result.status, retryAfterMs: result.retryAfterMs };
      case 'not_processed':
        return { kind: 'network', requestSent: true, reason: `not processed (${plan})` };
    }
  }

  /** Delivers an answer to the engine if the invocation is alive and survives the boundary. */
  private settle(
    handle: number,
    resolve: (outcome: TokenEndpointOutcome) => void,
    outcome: TokenEndpointOutcome,
    set?: IssuedSet,
  ): void {
    const { net, inv } = this;
    const at = net.sched.now;
    if (!inv.alive) {
      this.observer.unanswered(handle, 'sender dead', set, at);
      return;
    }
    if (net.crash.maybeCrash(inv, 'after token request')) {
      this.observer.unanswered(handle, 'sender died as the answer arrived', set, at);
      return;
    }
    this.observer.answered(handle, outcome, set, at);
    resolve(outcome);
  }

  private deliver(
    handle: number,
    afterMs: number,
    outcome: TokenEndpointOutcome,
  ): Promise<TokenEndpointOutcome> {
    return new Promise((resolve) => {
      this.net.sched.after(afterMs, () => this.settle(handle, resolve, outcome));
    });
  }
}
