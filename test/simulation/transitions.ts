import { REAUTH_REPORTED, REAUTH_REPORTED_LATE } from '../../lambda/core/reauth-report.js';

/**
 * Invariant 7: every move to `reauth_required` is seen (test/simulation/README.md).
 *
 * A move is a version with status `reauth_required` that landed in Secrets Manager, by
 * whatever path (a commit whose answer came back, one whose answer was lost, a write held
 * in flight that landed after its sender died). A report is a `ReauthRequired` metric that
 * was published (the EMF model: buffered metrics die with their process), attributed to the
 * move it names by the log line the engine writes with it (`REAUTH_REPORTED`, or
 * `REAUTH_REPORTED_LATE`: connection and version), in the same invocation.
 *
 * - Every published `ReauthRequired` names a move that landed (no metric for a commit that
 *   failed, none without its line).
 * - Every move is reported within `REPORT_WITHIN_MS` of landing. At least once: a second
 *   report of one move (a holder that reported and could not release) is counted, not flagged.
 */

/** How soon a move must be reported: the next runs read a record whose holder died first. */
export const REPORT_WITHIN_MS = 30 * 60_000;

/** What a metric names, from the log line written with it. */
export interface Attribution {
  connection: string;
  versionId?: string;
  late?: boolean;
}

/**
 * The report lines each invocation logged, waiting for the metric that goes with each (the
 * engine logs the line, then emits the metric, in one synchronous step).
 */
export class ReportLines {
  private readonly pending = new Map<string, Attribution[]>();

  add(invId: string, attribution: Attribution): void {
    const lines = this.pending.get(invId) ?? [];
    lines.push(attribution);
    this.pending.set(invId, lines);
  }

  /** What the metric `invId` just emitted names: its latest line not yet taken. */
  take(invId: string): Attribution | undefined {
    const lines = this.pending.get(invId);
    const attribution = lines?.pop();
    if (lines?.length === 0) this.pending.delete(invId);
    return attribution;
  }
}

interface Move {
  connection: string;
  versionId: string;
  at: number;
  reportedAt?: number;
  reports: number;
}

export interface TransitionHost {
  now(): number;
  /** Runs `fn` at virtual time `time` (a read-only check). */
  at(time: number, fn: () => void): void;
  count(name: string, by?: number): void;
  violate(message: string, connection?: string): void;
}

export class TransitionWatch {
  private readonly moves = new Map<string, Move>();
  private readonly lines = new ReportLines();

  constructor(private readonly host: TransitionHost) {}

  /** A version with status `reauth_required` became AWSCURRENT. */
  moved(connection: string, versionId: string, at: number): void {
    const move: Move = { connection, versionId, at, reports: 0 };
    this.moves.set(versionId, move);
    this.host.count('reauth.moves');
    this.host.at(at + REPORT_WITHIN_MS, () => {
      if (move.reportedAt !== undefined) return;
      this.host.violate(
        `${connection}: moved to reauth_required at ${iso(at)} (version ${versionId}) and no ReauthRequired was ` +
          `published within ${REPORT_WITHIN_MS / 60_000} min`,
        connection,
      );
    });
  }

  /** A log line of invocation `invId`: the engine's report lines are remembered for their metric. */
  logLine(invId: string, message: string, fields: Record<string, unknown>): void {
    if (message !== REAUTH_REPORTED && message !== REAUTH_REPORTED_LATE) return;
    this.lines.add(invId, {
      connection: String(fields.connection),
      versionId: typeof fields.versionId === 'string' ? fields.versionId : undefined,
      late: message === REAUTH_REPORTED_LATE,
    });
  }

  /** `ReauthRequired` was emitted by `invId`: it names what that invocation's latest report line named. */
  emitted(invId: string): Attribution | undefined {
    return this.lines.take(invId);
  }

  /** `ReauthRequired` was published (flushed while its process was alive). */
  published(invId: string, attribution: Attribution | undefined): void {
    this.host.count('reauth.published');
    const move = attribution?.versionId ? this.moves.get(attribution.versionId) : undefined;
    if (!attribution || !move || move.connection !== attribution.connection) {
      this.host.violate(
        attribution
          ? `${invId} published ReauthRequired for ${attribution.connection} (version ${attribution.versionId}), ` +
              'which never moved to reauth_required in that version (its commit did not land)'
          : `${invId} published a ReauthRequired that names no move to reauth_required (no report line)`,
        attribution?.connection,
      );
      return;
    }
    move.reports += 1;
    if (move.reportedAt !== undefined) {
      this.host.count('reauth.reported_again');
      return;
    }
    move.reportedAt = this.host.now();
    this.host.count(attribution.late ? 'reauth.reported_late' : 'reauth.reported_by_committer');
    const delay = move.reportedAt - move.at;
    this.host.count('reauth.report_delay_ms_total', delay);
    this.maxDelay = Math.max(this.maxDelay, delay);
  }

  /** The longest time from a move to its first report. */
  maxDelay = 0;

  /** Moves still unreported when the run ended (younger than the limit). */
  unreportedAtEnd(): number {
    let n = 0;
    for (const move of this.moves.values()) if (move.reportedAt === undefined) n += 1;
    return n;
  }
}

function iso(t: number): string {
  return new Date(t).toISOString();
}
