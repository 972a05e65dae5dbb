import { ENDPOINT_REFUSED } from '../../lambda/core/endpoint-refusal.js';
import { type Attribution, ReportLines } from './transitions.js';

/**
 * Invariant 8: a refresh token and a client secret go only to their own provider, and a
 * record edited to name another endpoint is refused and reported (test/simulation/README.md).
 *
 * The edit fault (`record_endpoint_unlisted`, `record_endpoint_unbound`) is an insider with
 * `secretsmanager:PutSecretValue` on one record. The attacker's endpoint is a sink in the
 * simulated provider layer: any request that reaches it, or reaches a provider other than the
 * refresh token's own, or carries another provider's client secret, is a violation. Which
 * records are refused is decided here from the deployment's configuration (the simulated
 * providers' origins and what each credentials secret is bound to), not by the engine's code.
 */

/** The insider's token endpoint: an origin outside `allowedTokenOrigins`. */
export const EXFIL_ORIGIN = 'https://exfil.attacker.example';
export const EXFIL_ENDPOINT = `${EXFIL_ORIGIN}/oauth2/token`;
/** A client-credentials secret the insider created, bound to the insider's origin. */
export const EXFIL_CREDENTIALS_ID = 'token-refresher-clients/exfil';

export type EditKind = 'unlisted' | 'unbound';

/** How long after a refusal is possible it must have been reported. */
export const REFUSAL_REPORT_WITHIN_MS = 30 * 60_000;

interface Edit {
  connection: string;
  kind: EditKind;
  at: number;
  /** When the engine would first decide to send (the binding is checked only then). */
  checkableAt: number;
  reportedAt?: number;
}

export interface EndpointHost {
  now(): number;
  at(time: number, fn: () => void): void;
  count(name: string, by?: number): void;
  violate(message: string, connection?: string): void;
  /** Whether an active record naming these is refused, and by which check (the configuration's view). */
  classify(tokenEndpoint: string, credentialsSecretId: string): EditKind | undefined;
  /** The first time from `from` at which the engine's due rule sends for this record. */
  dueAt(recordJson: string, from: number): number;
}

export class EndpointWatch {
  /** Connection → the edit its AWSCURRENT version carries (active, naming a refused endpoint). */
  private readonly open = new Map<string, Edit>();
  /** Connection → when its last edit stopped being AWSCURRENT. */
  private readonly closedAt = new Map<string, number>();
  private readonly lines = new ReportLines();
  /** The operator's alarm: the first report of an edit. */
  onFirstReport: (connection: string) => void = () => undefined;
  maxDelay = 0;

  constructor(private readonly host: EndpointHost) {}

  /** A version became AWSCURRENT (fields read without a full parse). */
  versionCreated(
    connection: string,
    status: string | undefined,
    tokenEndpoint: string | undefined,
    credentialsSecretId: string | undefined,
    value: string,
    at: number,
  ): void {
    const kind =
      status === 'active' && tokenEndpoint !== undefined && credentialsSecretId !== undefined
        ? this.host.classify(tokenEndpoint, credentialsSecretId)
        : undefined;
    const edit = this.open.get(connection);
    if (kind === undefined) {
      if (edit) {
        this.open.delete(connection);
        this.closedAt.set(connection, at);
        this.host.count(edit.reportedAt === undefined ? 'endpoint.overwritten' : 'endpoint.fixed');
      }
      return;
    }
    if (edit) return; // the same edit, carried into a later version (a lastError, a restore)
    const opened: Edit = { connection, kind, at, checkableAt: at };
    if (kind === 'unbound') opened.checkableAt = this.host.dueAt(value, at);
    this.open.set(connection, opened);
    this.host.count(`endpoint.edited.${kind}`);
    this.host.at(opened.checkableAt + REFUSAL_REPORT_WITHIN_MS, () => {
      if (this.open.get(connection) !== opened || opened.reportedAt !== undefined) return;
      this.host.violate(
        `${connection}: its record names ${kind === 'unlisted' ? 'an unlisted token endpoint' : 'an endpoint its credentials are not bound to'} ` +
          `since ${iso(at)} and no EndpointRefused was published within ${REFUSAL_REPORT_WITHIN_MS / 60_000} min` +
          (kind === 'unbound' ? ` of it being due (${iso(opened.checkableAt)})` : ''),
        connection,
      );
    });
  }

  /** Whether an edit made the connection unhealthy in [from, now]: carried now, or until `from`. */
  affects(connection: string, from: number): boolean {
    return this.open.has(connection) || (this.closedAt.get(connection) ?? Number.NEGATIVE_INFINITY) >= from;
  }

  isEdited(connection: string): boolean {
    return this.open.has(connection);
  }

  logLine(invId: string, message: string, fields: Record<string, unknown>): void {
    if (message === ENDPOINT_REFUSED) this.lines.add(invId, { connection: String(fields.connection) });
  }

  emitted(invId: string): Attribution | undefined {
    return this.lines.take(invId);
  }

  /** `EndpointRefused` was published by an invocation that started at `startedAt`. */
  published(invId: string, startedAt: number, attribution: Attribution | undefined): void {
    const connection = attribution?.connection;
    const edit = connection === undefined ? undefined : this.open.get(connection);
    const recent =
      connection !== undefined && (this.closedAt.get(connection) ?? Number.NEGATIVE_INFINITY) >= startedAt;
    if (connection === undefined || (!edit && !recent)) {
      this.host.violate(
        connection === undefined
          ? `${invId} published an EndpointRefused that names no connection (no refusal line)`
          : `${invId} published EndpointRefused for ${connection}, whose record names no refused endpoint`,
        connection,
      );
      return;
    }
    this.host.count('endpoint.refusals_published');
    if (!edit || edit.reportedAt !== undefined) return;
    edit.reportedAt = this.host.now();
    this.maxDelay = Math.max(this.maxDelay, edit.reportedAt - edit.at);
    this.host.count('endpoint.reported');
    this.onFirstReport(edit.connection);
  }

  /** A request reached an endpoint other than its refresh token's own provider. */
  misdirected(invId: string, connection: string | undefined, where: string, what: string): void {
    this.host.count('endpoint.misdirected');
    this.host.violate(
      `${invId} sent ${what} of ${connection ?? 'an unknown connection'} to ${where}`,
      connection,
    );
  }
}

function iso(t: number): string {
  return new Date(t).toISOString();
}
