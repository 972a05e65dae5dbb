import { type OnDemandResponse, VERSION_UNCHECKED } from '../../lambda/contract/on-demand.js';
import type { Prng } from './prng.js';

/**
 * Consumer floods (test/simulation/README.md, invariant 9): bogus on-demand requests sent
 * to the real handler with the on-demand function's configuration, by callers that do not
 * know the connection's current version. Knowing it is the capability (lambda/contract/
 * on-demand.ts), so none of them may learn anything: the answer is `current` (or the fixed
 * transient answer when the version could not be read), or a refusal with a fixed error.
 */

export const FLOOD_KINDS = {
  wrong_version: 'a made-up ifVersion for a connection that exists',
  old_version: 'a version the connection had before (a former consumer)',
  replay: 'the version a commit just replaced, sent within 3 s of the commit (during its lag window)',
  unknown_connection: 'a well-formed name no connection has',
  invalid_name: 'a name the pattern refuses (too long, path-like, spaces, a token-like string)',
  no_version: 'no ifVersion at all',
  long_version: 'an ifVersion longer than any version id',
  force: 'force: true, which only the operator’s function accepts',
} as const;

export type FloodKind = keyof typeof FLOOD_KINDS;

/** The default flood (`--flood`, `--flood-bursts`, `--flood-replay`). */
export const DEFAULT_FLOODS = {
  /** Bogus requests per minute, on average, outside bursts. */
  perMinute: 0.5,
  /** Bursts of `BURST_SIZE` requests within 20 s, each just before a scheduled run. */
  burstsPerDay: 4,
  /** Per committed version: a replay naming the version it replaced, within 3 s. */
  replay: 0.02,
} as const;

export const BURST_SIZE: readonly [number, number] = [50, 200];

/** The mix of a flood's requests (replays come from commits, not from this mix). */
const MIX: readonly (readonly [FloodKind, number])[] = [
  ['wrong_version', 30],
  ['old_version', 25],
  ['unknown_connection', 20],
  ['invalid_name', 10],
  ['no_version', 5],
  ['long_version', 5],
  ['force', 5],
];

const INVALID_NAMES = [
  '../token-refresher-clients/askara',
  'name with spaces',
  'x'.repeat(129),
  'acme-*',
  'acme-001/../../etc',
  '',
];

export interface FloodRequest {
  kind: FloodKind;
  event: Record<string, unknown>;
  /** The connection it names (as sent). */
  connection: string;
  ifVersion?: string;
}

export interface FloodWorld {
  rng: Prng;
  /** A connection that exists. */
  pickConnection(): string;
  /** A version of `connection` that is not AWSCURRENT, if it has one. */
  oldVersionOf(connection: string): string | undefined;
}

export function floodRequest(world: FloodWorld, kind: FloodKind = world.rng.weighted(MIX)): FloodRequest {
  const { rng } = world;
  const uuid = () => {
    const h = rng.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  };
  const request = (connection: string, ifVersion: string | undefined, extra: object = {}): FloodRequest => ({
    kind,
    connection,
    ...(ifVersion !== undefined ? { ifVersion } : {}),
    event: {
      action: 'refresh',
      connection,
      ...(ifVersion !== undefined ? { ifVersion } : {}),
      ...extra,
    },
  });
  switch (kind) {
    case 'wrong_version':
      return request(world.pickConnection(), uuid());
    case 'old_version': {
      const connection = world.pickConnection();
      return request(connection, world.oldVersionOf(connection) ?? uuid());
    }
    case 'replay':
      throw new Error('replays are built by the simulation from a commit');
    case 'unknown_connection':
      return request(`ghost-${rng.hex(6)}`, uuid());
    case 'invalid_name':
      return request(rng.pick(INVALID_NAMES), uuid());
    case 'no_version':
      return request(world.pickConnection(), undefined);
    case 'long_version':
      return request(world.pickConnection(), `${uuid()}${uuid()}`);
    case 'force':
      return request(world.pickConnection(), uuid(), { force: true });
  }
}

/**
 * Why an answer tells a flooding caller too much, or undefined. Allowed (lambda/contract/
 * on-demand.ts): `{ connection, outcome }` with `current` or `in_progress` (a held lease: the
 * version cannot be confirmed yet), and the fixed transient answer (the version could not be
 * read, or the lease taken).
 */
export function floodAnswerLeak(request: FloodRequest, response: OnDemandResponse): string | undefined {
  const keys = Object.keys(response).filter((k) => response[k as keyof OnDemandResponse] !== undefined);
  if (response.connection !== request.connection) return 'it names another connection';
  if ((response.outcome === 'current' || response.outcome === 'in_progress') && keys.length === 2) {
    return undefined;
  }
  if (
    response.outcome === 'failed' &&
    response.failureClass === 'transient' &&
    response.message === VERSION_UNCHECKED &&
    keys.length === 4
  ) {
    return undefined;
  }
  return `it was answered ${JSON.stringify(response).slice(0, 300)}`;
}

/** Why a refusal's error tells too much (echoes what was sent, or names a version), or undefined. */
export function floodErrorLeak(
  request: FloodRequest,
  message: string,
  currentVersionId: string | undefined,
): string | undefined {
  if (currentVersionId !== undefined && message.includes(currentVersionId)) {
    return 'its error names the current version';
  }
  if (request.ifVersion !== undefined && message.includes(request.ifVersion)) {
    return 'its error echoes the ifVersion it was sent';
  }
  if (
    request.kind === 'invalid_name' &&
    request.connection.length > 0 &&
    message.includes(request.connection)
  ) {
    return 'its error echoes the name it was sent';
  }
  return undefined;
}
