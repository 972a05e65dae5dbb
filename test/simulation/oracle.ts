import type { OnDemandResponse } from '../../lambda/contract/on-demand.js';
import type {
  BackoffState,
  LeaseOutcome,
  LeaseState,
  ReleaseDetails,
  RescuedTokenSet,
  TokenEndpointOutcome,
} from '../../lambda/core/ports.js';
import type { AwsObserver, SimKms } from './aws.js';
import { VERSION_QUOTA } from './aws.js';
import { type EditKind, EndpointWatch, REFUSAL_REPORT_WITHIN_MS } from './endpoints.js';
import type { Faults } from './faults.js';
import { type FloodRequest, floodAnswerLeak, floodErrorLeak } from './floods.js';
import { hashString } from './prng.js';
import type { AuthorizationServer, IssuedSet, ProcessResult, ProviderObserver } from './provider.js';
import type { Invocation, InvocationKind } from './runtime.js';
import { type Attribution, REPORT_WITHIN_MS, TransitionWatch } from './transitions.js';

export type InvariantId = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12;

/** How soon a dead-token answer the engine received must have moved its connection to reauth_required. */
export const DEAD_ANSWER_ACTED_ON_WITHIN_MS = 30 * 60_000;
/**
 * How long before an absolute refresh-token expiry a run must have signalled it: the
 * engine's threshold (`reauthDueWithin`, 14 days) less a day for the runs to see it.
 */
export const REAUTH_SIGNAL_SLACK_MS = 86_400_000;
const DAY_MS = 86_400_000;
/** Slack on a backoff's next attempt: a clock that jumps between the engine's check and its request. */
const BACKOFF_SLACK_MS = 20_000;

export const INVARIANTS: Record<InvariantId, string> = {
  1: 'no refresh token is presented again once the engine received its successful answer',
  2: 'while the provider is healthy, no consumer read returns an expired access token (or fails)',
  3: 'every token set the provider issued is committed or preserved for restore, never dropped',
  4: 'steady state: ≤ 1 refresh per token lifetime; < 100 versions per connection per rolling 24 h',
  5: 'a connection in reauth_required gets no refresh attempt until it is reconnected',
  6: 'no token or client secret in any log line, metric, or on-demand response',
  7: `every move to reauth_required is seen: a ReauthRequired metric is published within ${REPORT_WITHIN_MS / 60_000} min, and each one published names a move that landed`,
  9: 'a caller that does not name the current version learns nothing: a bogus on-demand request is answered `current`, a fixed transient answer, or a fixed refusal',
  8: `a refresh token and a client secret go only to their own provider; a record naming another endpoint is refused and EndpointRefused published within ${REFUSAL_REPORT_WITHIN_MS / 60_000} min`,
  10: 'no request reaches a provider for a connection while the backoff recorded for its current refresh token holds',
  11: 'a refresh token whose answer was lost is sent again only as documented: at most twice in all on a strict provider, and only inside the reuse window on one that keeps a window',
  12: `refresh-token death is foreseen and acted on: an absolute expiry is signalled (ConnectionsReauthDueSoon) days ahead, and a dead-token answer moves the connection to reauth_required within ${DEAD_ANSWER_ACTED_ON_WITHIN_MS / 60_000} min`,
};

export interface Violation {
  invariant: InvariantId;
  at: number;
  connection?: string;
  message: string;
}

/** The longest a read of AWSCURRENT may return the version a write replaced (a lag episode). */
const STALE_WINDOW_MS = 15 * 60_000;

/** How long after anything that affected a connection it counts as unhealthy (invariants 2, 4). */
export const HEALTH_WINDOW_MS = 30 * 60_000;
/** Slack on the minimum gap between steady-state refreshes: the request leg (send → provider). */
const GAP_SLACK_MS = 2_000;

interface Presentation {
  handle: number;
  token: string;
  connection?: string;
  inv: Invocation;
  sentAt: number;
  processedAt?: number;
  result?: ProcessResult;
  settled: boolean;
  /** The engine saw an ambiguous outcome (sent, answer unknown). */
  ambiguous: boolean;
}

type Durable = 'committed' | 'rescued' | 'logged';

interface SetState {
  set: IssuedSet;
  delivered?: { inv: Invocation; at: number };
  durable?: Durable;
  lost?: string;
  announced?: boolean;
}

interface ConnectionInfo {
  provider: string;
  lifetimeMs: number;
  rotating: boolean;
  /** The provider's reuse window (0: strict). */
  reuseWindowMs: number;
}

/** One request that carried a refresh token, as far as invariant 11 cares. */
interface Send {
  sentAt: number;
  /** `unconsumed`: the engine learnt the provider did not use the token (a 5xx, an error, never sent). */
  state: 'open' | 'unconsumed' | 'maybe';
}

/** A dead-token answer the engine received, until its connection moves (invariant 12). */
interface DeadAnswer {
  at: number;
  token: string;
  /** The holder's status commit to reauth_required failed (a write outage): it is written later. */
  commitFailed?: boolean;
}

/** A refresh token's requests (invariant 11). */
interface TokenSends {
  sends: Send[];
  /** An answer the engine never learnt (lost, unreadable, or its sender died). */
  lost: boolean;
}

/** Checks the invariants continuously and keeps the counts the report prints. */
export class Oracle implements AwsObserver, ProviderObserver {
  readonly violations: Violation[] = [];
  readonly counts = new Map<string, number>();
  digest = 0x811c9dc5;

  private readonly presentations = new Map<number, Presentation>();
  private handles = 0;
  /** Refresh tokens with an earlier presentation whose outcome the engine could not know. */
  private readonly ambiguousTokens = new Set<string>();
  /** Refresh token → when the engine received a successful answer to it. */
  private readonly answeredAt = new Map<string, { at: number; inv: Invocation }>();
  /** Refresh token → why the successful answer to it was lost. */
  private readonly lostAnswer = new Map<string, string>();
  private readonly activeByConnection = new Map<string, Presentation[]>();
  private readonly sets = new Map<number, SetState>();
  private readonly setByRefreshToken = new Map<string, SetState>();
  private readonly pendingByInv = new Map<Invocation, Set<SetState>>();
  private readonly reauthSince = new Map<string, number>();
  private readonly lastReconnect = new Map<string, number>();
  private readonly versionTimes = new Map<string, number[]>();
  private readonly maxVersions24h = new Map<string, number>();
  private readonly quotaFlagged = new Set<string>();
  private readonly lastIssue = new Map<string, SetState>();
  /** `${invocation id}|${connection}` → the lease state its acquire replaced. */
  private readonly acquiredFrom = new Map<string, LeaseState | undefined>();
  private readonly criticalAt = new Map<string, number>();
  /** The true AWSCURRENT version of a connection (set by the simulation). */
  currentVersionOf: (connection: string) => string | undefined = () => undefined;
  /** Connection → the unsaved marker (its version) and how many holders have found it. */
  private readonly unsavedFound = new Map<string, { versionId: string; holders: number }>();
  readonly consumerErrors = new Map<string, number>();
  readonly reauthCommitted: { connection: string; at: number }[] = [];
  private readonly minGapByLifetime = new Map<number, number>();
  /** Refresh token → its requests (invariant 11). */
  private readonly tokenSends = new Map<string, TokenSends>();
  private readonly sendOfHandle = new Map<number, { entry: TokenSends; send: Send }>();
  /** Connection → the latest next attempt of a backoff the engine recorded (invariant 2's health). */
  private readonly backoffUntil = new Map<string, number>();
  /** Connection → a dead-token answer the engine received, awaiting its move (invariant 12). */
  private readonly deadAnswers = new Map<string, DeadAnswer>();
  /** Invariant 12: the longest from a dead-token answer to the move it led to. */
  maxDeadToMoveMs = 0;
  /** Connection → when a run last published it as due for re-authentication (invariant 12). */
  private readonly reauthSignalledAt = new Map<string, number>();
  /** Invocation → the connections its DaysToReauthentication named as due, until its gauge is published. */
  private readonly reauthDueByInv = new Map<Invocation, string[]>();
  /** The lease table's backoff of a connection now (set by the simulation). */
  backoffOf: (connection: string) => BackoffState | undefined = () => undefined;
  /** The value of a version of a connection's secret (set by the simulation). */
  versionValueOf: (connection: string, versionId: string) => string | undefined = () => undefined;
  /** Runs a read-only check at a later virtual time (set by the simulation). */
  scheduleCheck: (time: number, check: () => void) => void = () => undefined;
  /** Whether an active record naming these is refused, and by which check (set by the simulation). */
  classifyEndpoint: (tokenEndpoint: string, credentialsSecretId: string) => EditKind | undefined = () =>
    undefined;
  /** When the engine's due rule first sends for a record, from `from` (set by the simulation). */
  dueAtOf: (recordJson: string, from: number) => number = (_record, from) => from;
  /** Invariant 8. */
  readonly endpoints = new EndpointWatch({
    now: () => this.now(),
    at: (time, check) => this.scheduleCheck(time, check),
    count: (name, by) => this.count(name, by),
    violate: (message, connection) => this.violate(8, message, connection),
    classify: (endpoint, credentials) => this.classifyEndpoint(endpoint, credentials),
    dueAt: (record, from) => this.dueAtOf(record, from),
  });
  /** Invariant 7. */
  readonly transitions = new TransitionWatch({
    now: () => this.now(),
    at: (time, check) => this.scheduleCheck(time, check),
    count: (name, by) => this.count(name, by),
    violate: (message, connection) => this.violate(7, message, connection),
  });

  constructor(
    private readonly now: () => number,
    private readonly prefix: string,
    private readonly connections: Map<string, ConnectionInfo>,
    private readonly server: AuthorizationServer,
    private readonly kms: SimKms,
    private readonly faults: Faults,
    private readonly settings: {
      refreshWindowMs: number;
      minIntervalMs: number;
      /** The engine's hard floor between refreshes, even of expired tokens (0 when it has none). */
      versionFloorMs: number;
      /** The schedule period. */
      periodMs: number;
      /** The engine's re-authentication threshold (`reauthDueWithin`). */
      reauthDueWithinMs: number;
      /** The start of the run. */
      start: number;
    },
    private readonly onViolation?: (violation: Violation) => void,
  ) {}

  count(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  private trace(text: string): void {
    this.digest = hashString(text, this.digest);
  }

  /** Debugging aid: SIM_TRACE=<connection> prints everything about one connection to stderr. */
  readonly watch = process.env.SIM_TRACE;

  debug(connection: string | undefined, text: string): void {
    if (
      this.watch &&
      (connection === this.watch ||
        this.watch === '*' ||
        (connection === undefined && this.watch.endsWith('+')) ||
        connection === this.watch.slice(0, -1))
    ) {
      process.stderr.write(`${new Date(this.now()).toISOString()} ${connection} ${text}\n`);
    }
  }

  violate(invariant: InvariantId, message: string, connection?: string): void {
    const violation: Violation = { invariant, at: this.now(), connection, message };
    this.violations.push(violation);
    this.count(`violation.${invariant}`);
    this.onViolation?.(violation);
  }

  /**
   * The earliest legitimate refresh after an issue, for lifetime L, refresh window W,
   * minimum interval M and version floor F: a valid token is refreshed once it is within W
   * of expiry and M has passed; an expired one once F has passed:
   * `min(max(L − W, M), max(L, F))`.
   */
  minGapMs(lifetimeMs: number): number {
    let gap = this.minGapByLifetime.get(lifetimeMs);
    if (gap === undefined) {
      const { refreshWindowMs: w, minIntervalMs: m, versionFloorMs: f } = this.settings;
      gap = Math.min(Math.max(lifetimeMs - w, m), Math.max(lifetimeMs, f));
      this.minGapByLifetime.set(lifetimeMs, gap);
    }
    return gap;
  }

  /**
   * Whether the schedule can keep a token of lifetime L valid at all times: either it is
   * refreshed inside its window (L − W ≥ M, with W longer than a period), or the next run
   * after the minimum interval comes before expiry (L > M + period + 1 min of jitter). Shorter
   * lifetimes are stale part of every cycle by design (the version quota).
   */
  servable(lifetimeMs: number): boolean {
    const { refreshWindowMs: w, minIntervalMs: m, periodMs } = this.settings;
    return lifetimeMs - w >= m || lifetimeMs > m + periodMs + 60_000;
  }

  // ----- health -----

  /** No fault touched this connection, its provider or everything in [t − 30 min, t]; active, live grant. */
  healthy(connection: string, t: number, from = t - HEALTH_WINDOW_MS): boolean {
    const info = this.connections.get(connection);
    if (!info) return false;
    return this.quietSince(connection, info.provider, Math.min(from, t - HEALTH_WINDOW_MS), t);
  }

  private quietSince(connection: string, provider: string, from: number, to: number): boolean {
    if (this.faults.lastAffecting(connection, provider) >= from) return false;
    for (const episode of this.faults.episodes) {
      if (episode.start > to || episode.end < from) continue;
      if (episode.provider === undefined || episode.provider === provider) return false;
    }
    if (this.reauthSince.has(connection)) return false;
    if ((this.lastReconnect.get(connection) ?? Number.NEGATIVE_INFINITY) >= from) return false;
    // A backoff is a fault's consequence: no request (so no refresh) until its next attempt.
    if ((this.backoffUntil.get(connection) ?? Number.NEGATIVE_INFINITY) >= from) return false;
    if (this.endpoints.affects(connection, from)) return false;
    if (this.server.familyRevoked(connection)) return false;
    return true;
  }

  // ----- provider -----

  presented(token: string, connection: string | undefined, inv: Invocation, at: number): number {
    const p: Presentation = {
      handle: this.handles++,
      token,
      connection,
      inv,
      sentAt: at,
      settled: false,
      ambiguous: false,
    };
    this.presentations.set(p.handle, p);
    this.count('presentations');
    this.trace(`P${at}|${connection}|${inv.id}`);
    if (this.watch) this.debug(connection, `${inv.id} PRESENTS ${token.slice(0, 40)} (h${p.handle})`);
    const name = connection ?? '(unknown token)';
    const info = connection ? this.connections.get(connection) : undefined;

    if (connection && this.reauthSince.has(connection)) {
      this.violate(
        5,
        `${name} received a refresh attempt from ${inv.id} while in reauth_required (since ${iso(this.reauthSince.get(connection)!)})`,
        connection,
      );
    }
    if (info?.rotating) {
      const answered = this.answeredAt.get(token);
      const receiverDied =
        answered?.inv.death !== undefined &&
        !this.setOf(token)?.durable &&
        answered.inv.death.at >= answered.at;
      if (answered && receiverDied) {
        // The process that received the answer died before anything durable: by design
        // indistinguishable from an answer lost in transit (docs/refresh-transaction.md).
        this.count(
          `represented.after_lost_answer.receiver ${answered.inv.death!.kind === 'crash' ? 'crashed' : 'timed out'}`,
        );
      } else if (answered) {
        if (this.documentedDoubleFault(token, answered, inv, connection!)) {
          this.count('represented.documented_double_fault');
        } else {
          this.violate(
            1,
            `${name}: ${inv.id} presented a refresh token whose successful answer ${answered.inv.id} received at ${iso(answered.at)}`,
            connection,
          );
        }
      } else {
        const lost = this.lostAnswer.get(token);
        if (lost) this.count(`represented.after_lost_answer.${lost}`);
      }
    }
    if (connection && info) {
      this.checkBackoff(token, connection, inv, at);
      this.trackSend(token, connection, info, p.handle, inv, at);
    }
    if (connection) {
      // In flight: not yet processed by the provider, or processed but its live sender still waits.
      const active = (this.activeByConnection.get(connection) ?? []).filter(
        (other) => other.processedAt === undefined || (!other.settled && other.inv.alive),
      );
      const other = active.find((q) => q.inv !== inv);
      if (other) {
        this.violate(
          1,
          `${name}: two refreshes in flight at once (${other.inv.id} sent at ${iso(other.sentAt)}, ${inv.id} now)`,
          connection,
        );
      }
      active.push(p);
      this.activeByConnection.set(connection, active);
    }
    return p.handle;
  }

  /**
   * Invariant 10: the lease table's backoff names the version whose refresh token this is,
   * and its next attempt is still ahead by the sender's clock.
   */
  private checkBackoff(token: string, connection: string, inv: Invocation, at: number): void {
    const backoff = this.backoffOf(connection);
    if (!backoff) return;
    const senderNow = at + inv.skewMs;
    if (senderNow + BACKOFF_SLACK_MS >= backoff.nextAttemptAt) return;
    const value = this.versionValueOf(connection, backoff.versionId);
    const ciphertext = value ? jsonField(value, 'ciphertext') : undefined;
    if (!ciphertext || this.kms.peek(ciphertext) !== token) return;
    this.violate(
      10,
      `${connection}: ${inv.id} sent its refresh token at ${iso(at)} (by its clock ${iso(senderNow)}) while the backoff ` +
        `recorded for it (streak ${backoff.failureStreak}) holds until ${iso(backoff.nextAttemptAt)}`,
      connection,
    );
  }

  /**
   * Invariant 11, at each request with a rotating provider's refresh token: once an answer to
   * it was lost, the requests that may have used it (all but those the engine learnt were
   * not processed) number at most two on a strict provider, and on one with a reuse window
   * none starts after the window that the first of them opened.
   */
  private trackSend(
    token: string,
    connection: string,
    info: ConnectionInfo,
    handle: number,
    inv: Invocation,
    at: number,
  ): void {
    if (!info.rotating) return;
    let entry = this.tokenSends.get(token);
    if (!entry) {
      entry = { sends: [], lost: false };
      this.tokenSends.set(token, entry);
    }
    if (entry.lost) {
      const used = entry.sends.filter((send) => send.state !== 'unconsumed');
      this.count(`resent_after_lost_answer.${info.reuseWindowMs > 0 ? 'window' : 'strict'}`);
      if (info.reuseWindowMs === 0 && used.length >= 2) {
        this.violate(
          11,
          `${connection}: ${inv.id} sent a refresh token whose answer was lost a ${ordinal(used.length + 1)} time ` +
            `(a strict provider: the first request and the documented retry, no more; earlier at ${used.map((send) => iso(send.sentAt)).join(', ')})`,
          connection,
        );
      } else if (info.reuseWindowMs > 0 && used.length > 0) {
        const opened = Math.min(...used.map((send) => send.sentAt));
        if (at >= opened + info.reuseWindowMs) {
          this.violate(
            11,
            `${connection}: ${inv.id} sent a refresh token whose answer was lost ${fmtGap(at - opened)} after its first ` +
              `request (${iso(opened)}), past the provider's reuse window of ${fmtGap(info.reuseWindowMs)}`,
            connection,
          );
        }
      }
    }
    const send: Send = { sentAt: at, state: 'open' };
    entry.sends.push(send);
    this.sendOfHandle.set(handle, { entry, send });
  }

  /** What the engine learnt of one request's use of its refresh token (invariant 11). */
  private settleSend(handle: number, outcome: TokenEndpointOutcome | 'lost'): void {
    const tracked = this.sendOfHandle.get(handle);
    if (!tracked) return;
    this.sendOfHandle.delete(handle);
    const { entry, send } = tracked;
    if (outcome === 'lost' || isAmbiguous(outcome)) {
      send.state = 'maybe';
      entry.lost = true;
      return;
    }
    if (
      outcome.kind === 'tokens' ||
      (outcome.kind === 'invalid_response' && outcome.refreshToken !== undefined)
    ) {
      // Answered: the token is spent, and invariant 1 watches it from here.
      send.state = 'maybe';
      return;
    }
    send.state = 'unconsumed';
  }

  /**
   * The one documented path to a re-send after a received answer: the commit, the rescue
   * and the release all failed, and the token set went to a CRITICAL log entry.
   */
  private documentedDoubleFault(
    token: string,
    answered: { at: number; inv: Invocation },
    inv: Invocation,
    connection: string,
  ): boolean {
    const critical = this.criticalAt.get(`${answered.inv.id}|${connection}`);
    if (critical === undefined || critical < answered.at) return false;
    const previous = this.acquiredFrom.get(`${inv.id}|${connection}`);
    void token;
    return previous !== undefined && previous.outcome === undefined;
  }

  processed(handle: number, result: ProcessResult, at: number): void {
    const p = this.presentations.get(handle);
    if (!p) return;
    p.processedAt = at;
    p.result = result;
    if (this.watch)
      this.debug(
        p.connection,
        `provider processed h${handle}: ${result.kind}${'why' in result ? ` ${result.why}` : ''}${result.kind === 'tokens' ? ` → ${result.set.refreshToken?.slice(0, 40)}` : ''}`,
      );
    this.trace(`R${handle}|${result.kind}`);
    if (result.kind === 'tokens') {
      this.count('issued');
      const state = this.track(result.set);
      if (result.set.refreshToken) this.setByRefreshToken.set(result.set.refreshToken, state);
      this.checkRefreshRate(state);
      // A replaced token presented again inside the provider's reuse window: no theft.
      if (result.set.grace) this.count('grace_reuse');
      // An earlier presentation of this token whose outcome the engine could not know.
      if (this.ambiguousTokens.delete(p.token)) {
        this.count(
          result.set.grace ? 'recovered.within_reuse_window' : 'recovered.ambiguous_retry_succeeded',
        );
      }
    } else if (result.kind === 'dead') {
      this.count(`dead.${result.why}`);
    }
    this.retire(p);
  }

  answered(handle: number, outcome: TokenEndpointOutcome, set: IssuedSet | undefined, at: number): void {
    const p = this.presentations.get(handle);
    if (!p) return;
    if (this.watch)
      this.debug(p.connection, `${p.inv.id} receives h${handle}: ${outcome.kind}${set ? ' (tokens)' : ''}`);
    this.settleSend(handle, outcome);
    if (p.settled) return;
    p.settled = true;
    if (isAmbiguous(outcome)) {
      p.ambiguous = true;
      this.ambiguousTokens.add(p.token);
    }
    this.retire(p);
    if (p.result?.kind === 'dead' && p.connection) this.deadAnswerReceived(p.connection, p.token, p.inv, at);
    // A set whose answer arrived, or whose new refresh token the engine salvaged from an unusable answer.
    if (set && (outcome.kind === 'tokens' || outcome.kind === 'invalid_response')) {
      this.tokenSends.delete(p.token);
      const state = this.track(set);
      state.delivered = { inv: p.inv, at };
      this.answeredAt.set(p.token, { at, inv: p.inv });
      let pending = this.pendingByInv.get(p.inv);
      if (!pending) {
        pending = new Set();
        this.pendingByInv.set(p.inv, pending);
      }
      if (!state.durable) pending.add(state);
      this.count('delivered');
    }
  }

  unanswered(handle: number, why: string, set: IssuedSet | undefined, at: number): void {
    const p = this.presentations.get(handle);
    if (!p) return;
    if (this.watch)
      this.debug(p.connection, `h${handle} unanswered: ${why}${set ? ' (tokens were issued)' : ''}`);
    this.settleSend(handle, 'lost');
    if (!p.settled) {
      p.settled = true;
      p.ambiguous = true;
      this.ambiguousTokens.add(p.token);
    }
    this.retire(p);
    if (!set) return;
    const state = this.track(set);
    if (state.lost || state.delivered) return;
    const reason =
      why === 'sender dead' || why === 'sender died as the answer arrived'
        ? p.inv.death?.kind === 'timeout'
          ? 'sender timed out'
          : 'sender crashed'
        : why;
    state.lost = reason;
    this.lostAnswer.set(p.token, reason);
    this.count(`lost_answer.${reason}`);
    void at;
  }

  /**
   * Invariant 12: the engine received the provider's answer that the refresh token is dead;
   * within 30 minutes the connection must be in reauth_required (or reconnected). Counted,
   * not flagged: the holder's status commit failed (a write outage; the next request with
   * the token writes it), or the record no longer holds that token (a commit that landed late
   * replaced it: the status commit conflicts, and the new token is judged when it is used).
   */
  private deadAnswerReceived(connection: string, token: string, inv: Invocation, at: number): void {
    this.count('dead_answers_received');
    if (this.reauthSince.has(connection) || this.deadAnswers.has(connection)) return;
    const dead: DeadAnswer = { at, token };
    this.deadAnswers.set(connection, dead);
    this.scheduleCheck(at + DEAD_ANSWER_ACTED_ON_WITHIN_MS, () => {
      if (this.deadAnswers.get(connection) !== dead) return;
      if ((this.lastReconnect.get(connection) ?? Number.NEGATIVE_INFINITY) >= at) return;
      if (this.currentRefreshToken(connection) !== token) {
        this.deadAnswers.delete(connection);
        this.count('dead_answers_superseded');
        return;
      }
      if (dead.commitFailed) {
        this.count('dead_answers_move_not_written');
        return;
      }
      this.deadAnswers.delete(connection);
      this.violate(
        12,
        `${connection}: ${inv.id} received the provider's answer that its refresh token is dead at ${iso(at)}, ` +
          `and the connection is not in reauth_required ${DEAD_ANSWER_ACTED_ON_WITHIN_MS / 60_000} min later`,
        connection,
      );
    });
  }

  /**
   * Invariant 12: a grant that ends at `expiresAt` (its absolute lifetime) must be published
   * as due for re-authentication — a run's `DaysToReauthentication` naming it below the
   * threshold, and that run's `ConnectionsReauthDueSoon` — from the threshold less a day
   * before it ends (or the run's first hour) until it ends: checked then and every day
   * after, each time for a signal within the last day (the alarm must not clear while the
   * grant still runs out). `current` says whether the grant is still the connection's,
   * unrevoked; a grant that ended otherwise (revoked, replaced) is no longer checked.
   */
  grantEnds(connection: string, since: number, expiresAt: number, current: () => boolean): void {
    const first = Math.max(
      expiresAt - (this.settings.reauthDueWithinMs - REAUTH_SIGNAL_SLACK_MS),
      this.settings.start + 3_600_000,
    );
    const check = (at: number, firstCheck: boolean) => {
      if (at >= expiresAt) return;
      this.scheduleCheck(at, () => {
        if (!current() || this.reauthSince.has(connection)) {
          this.count('reauth_due.ended_otherwise');
          return;
        }
        const signalled = this.reauthSignalledAt.get(connection) ?? Number.NEGATIVE_INFINITY;
        if (signalled < Math.max(since, at - DAY_MS)) {
          this.violate(
            12,
            `${connection}: its grant ends at ${iso(expiresAt)} (the provider's absolute lifetime) and no run ` +
              `${firstCheck ? 'has published' : 'published'} it as due for re-authentication ` +
              `${firstCheck ? `${fmtGap(expiresAt - at)} ahead` : 'in the last day'}` +
              (signalled > Number.NEGATIVE_INFINITY ? ` (last: ${iso(signalled)})` : ''),
            connection,
          );
          return;
        }
        if (firstCheck) this.count('reauth_due.signalled_ahead');
        check(at + DAY_MS, false);
      });
    };
    check(first, true);
    this.scheduleCheck(expiresAt, () => {
      if (current()) this.count('reauth_due.absolute_expiries');
    });
  }

  /** The refresh token AWSCURRENT holds for `connection` now (true time, not a read). */
  private currentRefreshToken(connection: string): string | undefined {
    const versionId = this.currentVersionOf(connection);
    const value = versionId === undefined ? undefined : this.versionValueOf(connection, versionId);
    const ciphertext = value ? jsonField(value, 'ciphertext') : undefined;
    return ciphertext ? this.kms.peek(ciphertext) : undefined;
  }

  /** A run emitted `DaysToReauthentication` for a connection (published at once: it has a dimension). */
  daysToReauthentication(inv: Invocation, connection: string, days: number): void {
    if (days * 86_400_000 >= this.settings.reauthDueWithinMs) return;
    const due = this.reauthDueByInv.get(inv) ?? [];
    due.push(connection);
    this.reauthDueByInv.set(inv, due);
  }

  misdirected(inv: Invocation, connection: string | undefined, where: string, what: string): void {
    this.endpoints.misdirected(inv.id, connection, where, what);
  }

  familyRevoked(_connection: string, _family: number, reason: 'reuse' | 'user', _at: number): void {
    this.count(`revoked.${reason}`);
  }

  /** Forgets a presentation once it can no longer overlap another. */
  private retire(p: Presentation): void {
    if (p.settled && p.processedAt !== undefined) this.presentations.delete(p.handle);
  }

  private setOf(refreshTokenPresented: string): SetState | undefined {
    const consumed = this.server.consumedSet(refreshTokenPresented);
    return consumed ? this.sets.get(consumed.id) : undefined;
  }

  private track(set: IssuedSet): SetState {
    let state = this.sets.get(set.id);
    if (!state) {
      state = { set };
      this.sets.set(set.id, state);
    }
    return state;
  }

  private checkRefreshRate(state: SetState): void {
    const { set } = state;
    const info = this.connections.get(set.connection);
    if (!info) return;
    const previous = this.lastIssue.get(set.connection);
    this.lastIssue.set(set.connection, state);
    if (!previous || previous.set.family !== set.family || previous.durable !== 'committed') return;
    const gap = set.issuedAt - previous.set.issuedAt;
    const steady = this.quietSince(
      set.connection,
      info.provider,
      previous.set.issuedAt - HEALTH_WINDOW_MS,
      set.issuedAt,
    );
    if (!steady) return;
    this.count('steady_refreshes');
    const minGap = this.minGapMs(info.lifetimeMs);
    if (gap < minGap - GAP_SLACK_MS) {
      this.violate(
        4,
        `${set.connection} (lifetime ${Math.round(info.lifetimeMs / 60_000)} min) refreshed ${fmtGap(gap)} after the previous refresh in steady state (earliest legitimate: ${fmtGap(minGap)})`,
        set.connection,
      );
    }
  }

  // ----- AWS -----

  versionCreated(secretName: string, versionId: string, value: string, at: number): void {
    if (!secretName.startsWith(this.prefix)) return;
    const connection = secretName.slice(this.prefix.length);
    this.count('versions');
    if (this.watch)
      this.debug(
        connection,
        `VERSION ${versionId} ${value.slice(0, 0)}${/"status":"(\w+)"/.exec(value)?.[1]} rt=${(this.kms.peek(/"ciphertext":"([^"]+)"/.exec(value)?.[1] ?? '') ?? '').slice(0, 40)}`,
      );
    this.trace(`V${at}|${connection}`);
    const times = this.versionTimes.get(connection) ?? [];
    times.push(at);
    while (times.length > 0 && times[0]! <= at - 86_400_000) times.shift();
    this.versionTimes.set(connection, times);
    if (times.length > (this.maxVersions24h.get(connection) ?? 0))
      this.maxVersions24h.set(connection, times.length);
    if (times.length >= VERSION_QUOTA && !this.quotaFlagged.has(connection)) {
      this.quotaFlagged.add(connection);
      const info = this.connections.get(connection);
      this.violate(
        4,
        `${connection} (lifetime ${info ? Math.round(info.lifetimeMs / 60_000) : '?'} min) created ${times.length} versions in 24 h (quota ${VERSION_QUOTA})`,
        connection,
      );
    }
    // Fields read without a full parse (hot path); the record is JSON the engine serialized.
    const record = {
      status: jsonField(value, 'status'),
      accessToken: jsonField(value, 'accessToken'),
      ciphertext: jsonField(value, 'ciphertext'),
    };
    if (record.accessToken) {
      const set = this.server.accessTokenSet(record.accessToken);
      if (set) this.markDurable(this.track(set), 'committed');
    }
    const refreshToken = record.ciphertext ? this.kms.peek(record.ciphertext) : undefined;
    if (refreshToken) {
      const state = this.setByRefreshToken.get(refreshToken);
      if (state) this.markDurable(state, 'committed');
    }
    this.endpoints.versionCreated(
      connection,
      record.status,
      jsonField(value, 'tokenEndpoint'),
      jsonField(value, 'clientCredentialsSecretId'),
      value,
      at,
    );
    if (record.status === 'reauth_required') this.transitions.moved(connection, versionId, at);
    if (record.status === 'reauth_required' && !this.reauthSince.has(connection)) {
      this.reauthSince.set(connection, at);
      this.reauthCommitted.push({ connection, at });
      this.count('reauth_required');
      const dead = this.deadAnswers.get(connection);
      if (dead) {
        this.deadAnswers.delete(connection);
        this.count('dead_answers_acted_on');
        this.maxDeadToMoveMs = Math.max(this.maxDeadToMoveMs, at - dead.at);
      }
      // In hindsight: the provider would still have refreshed with the stored token.
      if (refreshToken !== undefined && this.server.accepts(refreshToken, at)) {
        this.count(`reauth.needless.${this.connections.get(connection)?.rotating ? 'rotating' : 'static'}`);
      }
    }
    void versionId;
  }

  versionQuotaReached(secretName: string, _at: number): void {
    const connection = secretName.slice(this.prefix.length);
    this.count('version_quota_reached');
    if (!this.quotaFlagged.has(connection)) {
      this.quotaFlagged.add(connection);
      this.violate(4, `${connection}: PutSecretValue refused, version quota reached`, connection);
    }
  }

  rescueStored(connection: string, rescue: RescuedTokenSet, _at: number): void {
    this.count('rescues_stored');
    const state = this.rescueSet(rescue);
    if (state) this.markDurable(state, 'rescued');
    else this.count('rescue_of_unknown_set');
    void connection;
  }

  rescueRemoved(connection: string, rescue: RescuedTokenSet, why: 'cleared' | 'replaced', _at: number): void {
    const state = this.rescueSet(rescue);
    if (!state) return;
    if (state.durable === 'committed') {
      this.count('rescue_removed.after_commit');
      return;
    }
    const reconnected = this.lastReconnect.get(connection);
    if (reconnected !== undefined && reconnected >= state.set.issuedAt) {
      this.count('rescue_removed.by_reconnect');
      return;
    }
    this.violate(
      3,
      `${connection}: a rescued token set (issued ${iso(state.set.issuedAt)}) was ${why} in the lease table without ever being committed`,
      connection,
    );
  }

  leaseAcquired(connection: string, owner: string, previous: LeaseState | undefined, _at: number): void {
    const invId = owner.split('/')[0]!;
    if (invId.startsWith('flood-')) this.count('flood.leases_taken');
    if (this.watch)
      this.debug(
        connection,
        `${invId} ACQUIRES lease; previous ${JSON.stringify(previous ? { owner: previous.owner.split('/')[0], sent: previous.sentFromVersionId, outcome: previous.outcome, rescue: Boolean(previous.rescue) } : null)}`,
      );
    this.acquiredFrom.set(`${invId}|${connection}`, previous);
    this.unsavedMarkerFound(connection, previous);
    if (previous && previous.outcome === undefined && previous.sentFromVersionId !== undefined) {
      this.count('lease.taken_over_interrupted');
    }
  }

  leaseReleased(
    connection: string,
    _owner: string,
    outcome: LeaseOutcome,
    details: ReleaseDetails,
    _at: number,
  ): void {
    if (details.sent && outcome === 'unsaved') {
      // The provider answered, the set could be neither committed nor rescued: spent for good.
      this.count('unsaved.released');
      this.debug(connection, 'RELEASED unsaved');
    }
    if (details.backoff) {
      this.count('backoff.recorded');
      this.debug(
        connection,
        `BACKOFF streak ${details.backoff.failureStreak} until ${iso(details.backoff.nextAttemptAt)}`,
      );
      const until = details.backoff.nextAttemptAt + BACKOFF_SLACK_MS;
      this.backoffUntil.set(connection, Math.max(until, this.backoffUntil.get(connection) ?? until));
    }
  }

  /**
   * Counts the holders that find an unsaved marker on the version that is still AWSCURRENT
   * (so they must refuse it): the 2nd and later came after a refusal whose status commit
   * failed (or a run that stopped before it).
   */
  private unsavedMarkerFound(connection: string, previous: LeaseState | undefined): void {
    if (previous?.sentOutcome !== 'unsaved' || previous.sentFromVersionId === undefined) return;
    if (this.currentVersionOf(connection) !== previous.sentFromVersionId) return;
    const found = this.unsavedFound.get(connection);
    if (found?.versionId !== previous.sentFromVersionId) {
      this.unsavedFound.set(connection, { versionId: previous.sentFromVersionId, holders: 1 });
      this.count('unsaved.found_by_next_holder');
      return;
    }
    found.holders += 1;
    this.count('unsaved.found_again');
  }

  /** An acquisition was refused: the lease is held by `holder`. */
  leaseHeld(_connection: string, owner: string, holder: string, _at: number): void {
    if (holder.startsWith('flood-') && !owner.startsWith('flood-'))
      this.count('flood.held_a_lease_another_needed');
  }

  staleReadServed(secretName: string, reader: InvocationKind, _at: number): void {
    this.count(`stale_read.${reader === 'consumer' ? 'consumer' : reader === 'flood' ? 'flood' : 'engine'}`);
    this.debug(secretName.slice(this.prefix.length), `STALE READ served to a ${reader}`);
  }

  private rescueSet(rescue: RescuedTokenSet): SetState | undefined {
    const token = this.kms.peek(rescue.refreshToken.ciphertext);
    return token ? this.setByRefreshToken.get(token) : undefined;
  }

  private markDurable(state: SetState, how: Durable): void {
    const rank: Record<Durable, number> = { logged: 1, rescued: 2, committed: 3 };
    if (!state.durable || rank[how] > rank[state.durable]) state.durable = how;
    if (state.delivered) this.pendingByInv.get(state.delivered.inv)?.delete(state);
  }

  // ----- operator -----

  reconnected(connection: string, at: number): void {
    this.reauthSince.delete(connection);
    this.lastReconnect.set(connection, at);
    this.count('reconnects');
  }

  // ----- logs, metrics, responses -----

  /** Checks one emitted line (after the logger's scrubbing) and tracks CRITICAL entries. */
  logLine(inv: Invocation, level: string, message: string, fields: Record<string, unknown>): void {
    this.count(`log.${level}`);
    if (this.watch) {
      this.debug(
        typeof fields.connection === 'string' ? fields.connection : undefined,
        `${inv.id} LOG ${level} ${`${message} ${JSON.stringify(fields)}`.slice(0, 300)}`,
      );
    }
    if (mentionsSecret(message) || mentionsSecret(fields)) {
      this.checkText(`${message} ${JSON.stringify(fields)}`, `a ${level} log line of ${inv.id}`);
    }
    this.transitions.logLine(inv.id, message, fields);
    this.endpoints.logLine(inv.id, message, fields);
    if (message === 'the connection status could not be recorded') {
      this.count(`status_not_recorded.${String(fields.status)}`);
      const dead = this.deadAnswers.get(String(fields.connection));
      if (dead && fields.status === 'reauth_required') dead.commitFailed = true;
    } else if (
      message === 'connection refresh failed' &&
      typeof fields.reason === 'string' &&
      fields.reason.includes('(a stale read, repeated)')
    ) {
      this.count('stale_read.engine_gave_up');
    }
    if (!message.startsWith('CRITICAL')) return;
    this.count('log.critical');
    const connection = typeof fields.connection === 'string' ? fields.connection : undefined;
    if (!connection) return;
    this.criticalAt.set(`${inv.id}|${connection}`, this.now());
    const rescue = fields.rescue as RescuedTokenSet | undefined;
    if (rescue?.refreshToken?.ciphertext) {
      const state = this.rescueSet(rescue);
      if (state) this.markDurable(state, 'logged');
    }
    if (message.includes('could not be encrypted')) {
      for (const state of this.pendingByInv.get(inv) ?? []) {
        if (state.set.connection === connection) state.announced = true;
      }
    }
  }

  /** A Count metric was emitted by `inv`: what it names, when it reports a transition. */
  metricEmitted(inv: Invocation, name: string): Attribution | undefined {
    if (name === 'ReauthRequired') return this.transitions.emitted(inv.id);
    if (name === 'EndpointRefused') return this.endpoints.emitted(inv.id);
    return undefined;
  }

  /** A Count metric was published (what CloudWatch receives). */
  metricPublished(inv: Invocation, name: string, value: number, attribution: Attribution | undefined): void {
    this.count(`metric.${name}`, value);
    if (name === 'ConnectionsReauthDueSoon') {
      for (const connection of this.reauthDueByInv.get(inv) ?? []) {
        if (value > 0) this.reauthSignalledAt.set(connection, this.now());
      }
      this.reauthDueByInv.delete(inv);
    }
    if (name === 'ReauthRequired') this.transitions.published(inv.id, attribution);
    if (name === 'EndpointRefused') this.endpoints.published(inv.id, inv.startedAt, attribution);
  }

  /** A value handed to the logger before scrubbing: the engine must never pass one. */
  rawLogArgument(inv: Invocation, message: string, fields: unknown): void {
    if (mentionsSecret(message) || mentionsSecret(fields)) {
      this.violate(
        6,
        `${inv.id} handed a token or secret value to the logger (the engine must never pass one; the scrubber is a second line)`,
      );
    }
  }

  checkText(text: string, where: string): void {
    if (text.includes('SIMTOKEN') || text.includes('SIMSECRET')) {
      const match = /SIM(TOKEN|SECRET)-[A-Za-z0-9-]*/.exec(text)?.[0] ?? '';
      this.violate(6, `${where} contains a token or secret value (${match.slice(0, 14)}…)`);
    }
  }

  // ----- invocations -----

  invocationDied(inv: Invocation): void {
    this.count(`invocations.died.${inv.death?.kind}`);
  }

  invocationFinished(inv: Invocation): void {
    const pending = this.pendingByInv.get(inv);
    this.pendingByInv.delete(inv);
    for (const state of pending ?? []) {
      if (state.durable) continue;
      if (!state.set.rotating) {
        this.count('fate.non_rotating_access_token_not_committed');
        state.lost = 'non-rotating, not committed';
        continue;
      }
      if (state.announced) {
        this.count('fate.announced_loss');
        state.lost = 'announced';
        continue;
      }
      state.lost = 'dropped';
      this.violate(
        3,
        `${state.set.connection}: ${inv.id} received a new token set and finished without committing, rescuing or logging it`,
        state.set.connection,
      );
    }
  }

  // ----- consumers -----

  consumerGot(
    connection: string,
    token: { accessToken: string; expiresAt: Date },
    startedAt: number,
    at: number,
    context: string,
  ): void {
    this.count('consumer.reads_ok');
    const set = this.server.accessTokenSet(token.accessToken);
    if (!set || set.connection !== connection) {
      this.violate(
        2,
        `${connection}: a consumer got an access token the provider never issued for it`,
        connection,
      );
      return;
    }
    // The window that matters: since the token was issued (a clock fault then shows in its
    // expiry), and the health window before the read.
    const healthy = this.healthy(connection, at, Math.min(startedAt, set.issuedAt - 60_000));
    if (healthy) this.count('consumer.reads_checked_healthy');
    if (set.expiresAt <= at) {
      if (healthy) {
        this.violate(
          2,
          `${connection}: a consumer read (${context}) returned an access token that expired at ${iso(set.expiresAt)}`,
          connection,
        );
      } else this.count('consumer.expired_under_faults');
    }
    if (token.expiresAt.getTime() > set.expiresAt) {
      if (healthy) {
        this.violate(
          2,
          `${connection}: the record claims expiry ${token.expiresAt.toISOString()}, after the provider's ${iso(set.expiresAt)}`,
          connection,
        );
      } else this.count('consumer.expiry_later_than_provider_under_faults');
    }
  }

  consumerFailed(connection: string, error: unknown, startedAt: number, at: number, context: string): void {
    const name = (error as Error)?.name ?? 'Error';
    this.consumerErrors.set(name, (this.consumerErrors.get(name) ?? 0) + 1);
    this.count('consumer.reads_failed');
    const message = (error as Error)?.message ?? String(error);
    this.checkText(message, 'a consumer error message');
    if (this.healthy(connection, at, startedAt)) {
      const info = this.connections.get(connection);
      if (info && !this.servable(info.lifetimeMs)) {
        this.count('consumer.stale_by_design');
        return;
      }
      this.violate(
        2,
        `${connection}: a consumer read (${context}) failed while healthy: ${name}: ${message}`,
        connection,
      );
    }
  }

  // ----- consumer floods (invariant 9) -----

  /**
   * A write outside the write protocol (the insider's edit) replaced `versionId`: nothing the
   * engine recorded says so, so for as long as a read of AWSCURRENT may be stale (a lag
   * episode: up to 15 min) a caller naming `versionId` can pass for one naming the current
   * version. Its answers are counted, not flagged (README, invariant 9).
   */
  replacedOutsideProtocol(versionId: string, at: number): void {
    this.outsideWrites.set(versionId, at);
  }

  private readonly outsideWrites = new Map<string, number>();

  floodAnswered(inv: Invocation, request: FloodRequest, response: OnDemandResponse): void {
    this.count(`flood.answer.${response.outcome}`);
    this.checkText(JSON.stringify(response), `the answer to ${inv.id}`);
    const leak = floodAnswerLeak(request, response);
    const replacedAt =
      request.ifVersion === undefined ? undefined : this.outsideWrites.get(request.ifVersion);
    if (leak && replacedAt !== undefined && inv.startedAt - replacedAt <= STALE_WINDOW_MS) {
      this.count('flood.answered_as_current_after_an_outside_write');
      return;
    }
    if (leak) {
      this.violate(
        9,
        `${inv.id} (${request.kind}, naming ${request.ifVersion ?? 'no version'}) learnt something: ${leak}`,
        request.connection,
      );
    }
  }

  floodRefused(inv: Invocation, request: FloodRequest, message: string, currentVersionId?: string): void {
    this.count('flood.refused');
    const leak = floodErrorLeak(request, message, currentVersionId);
    if (leak)
      this.violate(9, `${inv.id} (${request.kind}) was refused, but ${leak}: ${message.slice(0, 200)}`);
  }

  // ----- end of run -----

  /** Classifies every issued token set's fate (invariant 3) and returns the tally. */
  finish(endAt: number): Map<string, number> {
    const fates = new Map<string, number>();
    const add = (fate: string) => fates.set(fate, (fates.get(fate) ?? 0) + 1);
    for (const state of this.sets.values()) {
      if (state.set.from === undefined) continue; // initial code exchanges
      if (state.durable) {
        add(
          state.durable === 'committed'
            ? 'committed'
            : state.durable === 'rescued'
              ? 'rescued (pending restore)'
              : 'logged (CRITICAL, for an operator)',
        );
        continue;
      }
      if (!state.delivered) {
        add(state.lost ? `answer lost: ${state.lost}` : 'answer lost: unknown');
        continue;
      }
      const inv = state.delivered.inv;
      if (state.lost) {
        add(state.lost === 'dropped' ? 'DROPPED (violation)' : state.lost);
        continue;
      }
      if (inv.alive && !inv.finished) {
        add('in flight at the end');
        continue;
      }
      if (!state.set.rotating) {
        add('non-rotating, not committed');
        continue;
      }
      if (inv.death?.kind === 'crash') {
        add('answer lost by crash (before the next durable write)');
        continue;
      }
      if (inv.death?.kind === 'timeout' && (inv.death.hung || inv.clockFault)) {
        add('lost: Lambda timeout after an injected hung write or clock jump');
        continue;
      }
      if (inv.death?.kind === 'timeout') {
        add('killed by the Lambda timeout before a durable write');
        this.violate(
          3,
          `${state.set.connection}: ${inv.id} was killed by its Lambda timeout (${inv.death.where}) holding a token set it had not committed, rescued or logged`,
          state.set.connection,
        );
        continue;
      }
      add('unaccounted');
    }
    void endAt;
    return fates;
  }

  versionStats(): { connection: string; max: number }[] {
    return [...this.maxVersions24h.entries()].map(([connection, max]) => ({ connection, max }));
  }
}

/** Whether any string in `value` (recursively; errors by name and message) holds a simulated token or secret. */
export function mentionsSecret(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('SIMTOKEN') || value.includes('SIMSECRET');
  if (depth > 8 || value === null || typeof value !== 'object') return false;
  if (value instanceof Error) return mentionsSecret(`${value.name}: ${value.message}`);
  if (Array.isArray(value)) return value.some((item) => mentionsSecret(item, depth + 1));
  for (const key in value) {
    if (mentionsSecret((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/** The string value of the first `"name":"..."` in serialized JSON (values without escapes). */
function jsonField(json: string, name: string): string | undefined {
  const marker = `"${name}":"`;
  const start = json.indexOf(marker);
  if (start < 0) return undefined;
  const from = start + marker.length;
  const end = json.indexOf('"', from);
  return end < 0 ? undefined : json.slice(from, end);
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

/** Whether the engine could not tell from an outcome whether the provider used the token. */
function isAmbiguous(outcome: TokenEndpointOutcome): boolean {
  return (
    (outcome.kind === 'network' && outcome.requestSent) ||
    (outcome.kind === 'invalid_response' && outcome.readBody !== true)
  );
}

function ordinal(n: number): string {
  return n === 1 ? '1st' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`;
}

function fmtGap(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}
