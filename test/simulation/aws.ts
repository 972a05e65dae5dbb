import { dependencyFailure } from '../../lambda/adapters/aws-errors.js';
import {
  LeaseHeldError,
  SecretNotFoundError,
  TokenRefresherError,
  VersionConflictError,
  VersionQuotaError,
} from '../../lambda/core/errors.js';
import type {
  AcquireResult,
  Ciphertext,
  KeyService,
  LeaseOutcome,
  LeaseState,
  LeaseStore,
  ReleaseDetails,
  RescuedTokenSet,
  SecretStore,
  SecretSummary,
  SecretVersion,
} from '../../lambda/core/ports.js';
import type { FaultScope } from './faults.js';
import {
  awsError,
  type CallSpec,
  type Invocation,
  type InvocationKind,
  invocationClock,
  type Net,
  remoteCall,
  type ServerResult,
} from './runtime.js';

/** What the simulated AWS services report to the invariant checker. */
export interface AwsObserver {
  versionCreated(secretName: string, versionId: string, value: string, at: number): void;
  versionQuotaReached(secretName: string, at: number): void;
  rescueStored(connection: string, rescue: RescuedTokenSet, at: number): void;
  rescueRemoved(connection: string, rescue: RescuedTokenSet, why: 'cleared' | 'replaced', at: number): void;
  leaseAcquired(connection: string, owner: string, previous: LeaseState | undefined, at: number): void;
  leaseReleased(
    connection: string,
    owner: string,
    outcome: LeaseOutcome,
    details: ReleaseDetails,
    at: number,
  ): void;
  /** An acquisition was refused: `holder` holds the lease. */
  leaseHeld?(connection: string, owner: string, holder: string, at: number): void;
  /** A GetSecretValue(AWSCURRENT) was answered with the version the last put replaced. */
  staleReadServed(secretName: string, reader: InvocationKind, at: number): void;
}

const ok = <T>(value: T): ServerResult<T> => ({ ok: true, value });
const err = <T>(error: unknown): ServerResult<T> => ({ ok: false, error });

// ---------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------

interface StoredVersion {
  id: string;
  value: string;
  createdAt: number;
}

interface StoredSecret {
  name: string;
  versions: Map<string, StoredVersion>;
  /** Version ids in creation order. */
  order: string[];
  current?: string;
  previous?: string;
  hint?: string;
  /**
   * Until `until`, a read of AWSCURRENT may still be answered with `versionId`, the version
   * the last PutSecretValue replaced (staging labels are eventually consistent).
   */
  lag?: { versionId: string; until: number };
}

/** How long after a PutSecretValue a read may still see the replaced version: usually. */
const LAG_MS: readonly [number, number] = [0, 2_000];
/** ...and in a lag episode (`smStaleEpisode`). */
const LAG_EPISODE_MS: readonly [number, number] = [60_000, 900_000];
/** A per-secret write outage (`smSecretUnwritable`). */
const UNWRITABLE_MS: readonly [number, number] = [120_000, 480_000];
/** The write outage after an unsaved marker: longer than a scheduled run's budget. */
const UNWRITABLE_AFTER_UNSAVED_MS: readonly [number, number] = [240_000, 480_000];

/** Versions Secrets Manager keeps before it removes unlabeled ones (never younger than 24 h). */
export const VERSION_QUOTA = 100;
const DAY_MS = 86_400_000;

/** A token bucket: `rate` requests per second, bursts up to `rate`. */
class TokenBucket {
  private tokens: number;
  private last = Number.NEGATIVE_INFINITY;
  constructor(private readonly rate: number) {
    this.tokens = rate;
  }
  take(now: number): boolean {
    if (this.last !== Number.NEGATIVE_INFINITY) {
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
    }
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Secrets Manager as documented: versions with AWSCURRENT / AWSPREVIOUS, idempotent
 * `ClientRequestToken` (same token and value: the call succeeds and changes nothing;
 * same token, other value: `ResourceExistsException`), unlabeled versions removed once
 * there are more than 100 but never one younger than 24 h (past that the version quota
 * is reached: `LimitExceededException`), 50 writes per second (PutSecretValue; TagResource
 * has its own bucket), ListSecrets pages of 100 with tags and version stages.
 *
 * AWS documents no read-after-write guarantee for staging labels: for a moment after a
 * PutSecretValue (0-2 s; in a lag episode 1-15 min) a read of AWSCURRENT may still return
 * the replaced version, id and value (`smStaleRead` per read). Writes can also be refused
 * for minutes for one secret (`smSecretUnwritable`, and `smPutRefusedAfterUnsaved`: the
 * status commit that follows an `unsaved` spent-token marker).
 */
export class SimSecretsManager {
  readonly secrets = new Map<string, StoredSecret>();
  private sortedNames: string[] = [];
  /** Names under a prefix, sorted (cleared when a secret is created). */
  private readonly listed = new Map<string, string[]>();
  private readonly putBucket = new TokenBucket(50);
  private readonly tagBucket = new TokenBucket(50);

  /** Secret name → end of its write outage. */
  private readonly unwritableUntil = new Map<string, number>();
  /** `${secret}|${version}` of unsaved markers whose first following write was already decided. */
  private readonly unsavedSeen = new Set<string>();

  constructor(
    private readonly net: Net,
    private readonly observer: AwsObserver,
    private readonly scopeOf: (secretId: string) => FaultScope,
    /**
     * The version whose send last ended `unsaved` for the connection a secret belongs to,
     * as released (for `smPutRefusedAfterUnsaved`; what was released, even if a buggy
     * lease table later loses it).
     */
    private readonly unsavedVersionOf: (secretId: string) => string | undefined = () => undefined,
  ) {}

  /** Creates a secret with a first version (setup and the operator; not an engine path). */
  create(name: string, value: string, versionId: string): void {
    const secret: StoredSecret = { name, versions: new Map(), order: [] };
    this.secrets.set(name, secret);
    this.sortedNames.push(name);
    this.sortedNames.sort();
    this.listed.clear();
    this.applyPut(secret, value, versionId, false);
  }

  current(name: string): SecretVersion | undefined {
    const secret = this.secrets.get(name);
    const version = secret?.current ? secret.versions.get(secret.current) : undefined;
    return version ? { versionId: version.id, value: version.value } : undefined;
  }

  // ----- server side: runs at the instant a request arrives -----

  /** GetSecretValue by VersionId, reduced to whether that version exists. */
  serveVersionExists(secretId: string, versionId: string): ServerResult<boolean> {
    const secret = this.secrets.get(secretId);
    if (!secret) return err(new SecretNotFoundError(secretId));
    return ok(secret.versions.has(versionId));
  }

  /** `net`: the reader's (its own draws and fault bookkeeping; a flood's are apart). */
  serveGet(secretId: string, reader: InvocationKind, net: Net = this.net): ServerResult<SecretVersion> {
    const secret = this.secrets.get(secretId);
    if (!secret) return err(new SecretNotFoundError(secretId));
    const now = net.sched.now;
    const lag = secret.lag;
    if (lag && now < lag.until && net.protocolChaos.chance(net.faults.rates.smStaleRead)) {
      const stale = secret.versions.get(lag.versionId);
      if (stale) {
        net.note('sm_stale_read', this.scopeOf(secretId));
        this.observer.staleReadServed(secretId, reader, now);
        return ok({ versionId: stale.id, value: stale.value });
      }
    }
    const version = this.current(secretId)!;
    return ok(version);
  }

  /**
   * Whether the service refuses this PutSecretValue (engine writes only): the secret is in a
   * write outage, or one starts now. Decided where the request arrives, before it takes effect.
   */
  writeRefused(secretId: string): boolean {
    const now = this.net.sched.now;
    const scope = this.scopeOf(secretId);
    const { rates } = this.net.faults;
    const chaos = this.net.protocolChaos;
    const unsaved = this.unsavedVersionOf(secretId);
    if (unsaved !== undefined) {
      // The first write after an unsaved marker is the refusing holder's status commit.
      const key = `${secretId}|${unsaved}`;
      if (!this.unsavedSeen.has(key)) {
        this.unsavedSeen.add(key);
        if (chaos.chance(rates.smPutRefusedAfterUnsaved)) {
          const until = now + chaos.between(...UNWRITABLE_AFTER_UNSAVED_MS);
          this.unwritableUntil.set(secretId, Math.max(until, this.unwritableUntil.get(secretId) ?? until));
          this.net.note('sm_put_refused_after_unsaved', scope);
          return true;
        }
      }
    }
    if (now < (this.unwritableUntil.get(secretId) ?? Number.NEGATIVE_INFINITY)) {
      this.net.faults.touch(scope, now);
      return true;
    }
    if (chaos.chance(rates.smSecretUnwritable)) {
      this.unwritableUntil.set(secretId, now + chaos.between(...UNWRITABLE_MS));
      this.net.note('sm_secret_unwritable', scope);
      return true;
    }
    return false;
  }

  servePut(secretId: string, value: string, token: string): ServerResult<{ versionId: string }> {
    const secret = this.secrets.get(secretId);
    if (!secret) return err(new SecretNotFoundError(secretId));
    const existing = secret.versions.get(token);
    if (existing) {
      if (existing.value === value) return ok({ versionId: existing.id });
      return err(new VersionConflictError(secretId));
    }
    if (!this.makeRoom(secret)) {
      this.observer.versionQuotaReached(secretId, this.net.sched.now);
      this.net.note('sm_version_quota', this.scopeOf(secretId));
      return err(
        new VersionQuotaError(secretId, {
          cause: awsError(
            'LimitExceededException',
            'You have exceeded the quota for versions of this secret',
          ),
        }),
      );
    }
    this.applyPut(secret, value, token, true);
    return ok({ versionId: token });
  }

  serveTag(secretId: string, hint: string): ServerResult<void> {
    const secret = this.secrets.get(secretId);
    if (!secret) return err(new SecretNotFoundError(secretId));
    secret.hint = hint;
    if (process.env.SIM_TRACE && secretId.endsWith(process.env.SIM_TRACE.replace(/\+$/, ''))) {
      process.stderr.write(`${new Date(this.net.sched.now).toISOString()} HINT ${secretId} ${hint}\n`);
    }
    return ok(undefined);
  }

  serveList(prefix: string, page: number): ServerResult<{ entries: SecretSummary[]; more: boolean }> {
    let names = this.listed.get(prefix);
    if (!names) {
      names = this.sortedNames.filter((name) => name.startsWith(prefix));
      this.listed.set(prefix, names);
    }
    const slice = names.slice(page * 100, page * 100 + 100);
    const entries = slice.map((name) => {
      const secret = this.secrets.get(name)!;
      const summary: SecretSummary = { name };
      if (secret.current) summary.currentVersionId = secret.current;
      if (secret.hint !== undefined) summary.hint = secret.hint;
      return summary;
    });
    return ok({ entries, more: names.length > page * 100 + 100 });
  }

  throttledWrite(kind: 'put' | 'tag', now: number): boolean {
    return !(kind === 'put' ? this.putBucket : this.tagBucket).take(now);
  }

  /** Removes the oldest unlabeled version older than 24 h while over the quota; false when none can go. */
  private makeRoom(secret: StoredSecret): boolean {
    const now = this.net.sched.now;
    while (secret.versions.size >= VERSION_QUOTA) {
      const removable = secret.order.find((id) => {
        const version = secret.versions.get(id)!;
        return id !== secret.current && id !== secret.previous && version.createdAt <= now - DAY_MS;
      });
      if (removable === undefined) return false;
      secret.versions.delete(removable);
      secret.order.splice(secret.order.indexOf(removable), 1);
    }
    return true;
  }

  private applyPut(secret: StoredSecret, value: string, versionId: string, lagging: boolean): void {
    const now = this.net.sched.now;
    secret.versions.set(versionId, { id: versionId, value, createdAt: now });
    secret.order.push(versionId);
    secret.previous = secret.current;
    secret.current = versionId;
    delete secret.lag;
    if (lagging && secret.previous !== undefined) {
      const chaos = this.net.protocolChaos;
      let lagMs = chaos.between(...LAG_MS);
      if (chaos.chance(this.net.faults.rates.smStaleEpisode)) {
        lagMs = chaos.between(...LAG_EPISODE_MS);
        // Counted here, harmless until a read is served stale (that read is the fault).
        this.net.note('sm_stale_episode', { benign: true });
      }
      secret.lag = { versionId: secret.previous, until: now + lagMs };
    }
    this.observer.versionCreated(secret.name, versionId, value, now);
  }
}

function failed(operation: string, secretId: string, error: unknown): TokenRefresherError {
  // As the Secrets Manager adapter words and classifies it.
  return dependencyFailure(`Secrets Manager ${operation} on "${secretId}"`, error);
}

/** The `SecretStore` port of one invocation over the simulated Secrets Manager. */
export class SimSecretStore implements SecretStore {
  constructor(
    private readonly net: Net,
    private readonly sm: SimSecretsManager,
    private readonly inv: Invocation,
    private readonly scopeOf: (secretId: string) => FaultScope,
  ) {}

  async *list(prefix: string): AsyncIterable<SecretSummary> {
    for (let page = 0; ; page += 1) {
      const result = await this.call('ListSecrets', `${prefix}*`, () => this.sm.serveList(prefix, page));
      for (const entry of result.entries) yield entry;
      if (!result.more) return;
    }
  }

  getCurrent(secretId: string): Promise<SecretVersion> {
    return this.call('GetSecretValue', secretId, () => this.sm.serveGet(secretId, this.inv.kind, this.net));
  }

  versionExists(secretId: string, versionId: string): Promise<boolean> {
    return this.call('GetSecretValue', secretId, () => this.sm.serveVersionExists(secretId, versionId));
  }

  async putVersion(
    secretId: string,
    value: string,
    clientRequestToken: string,
  ): Promise<{ versionId: string }> {
    return this.write('put', 'PutSecretValue', secretId, () =>
      this.sm.servePut(secretId, value, clientRequestToken),
    );
  }

  async setHint(secretId: string, hint: string): Promise<void> {
    await this.write('tag', 'TagResource', secretId, () => this.sm.serveTag(secretId, hint));
  }

  /** A write, with the SDK's retries of a throttled request (3 attempts), as the real client does. */
  private async write<T>(
    kind: 'put' | 'tag',
    operation: string,
    secretId: string,
    serve: () => ServerResult<T>,
  ): Promise<T> {
    const clock = invocationClock(this.net.sched, this.inv);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.call(operation, secretId, () => {
          if (this.sm.throttledWrite(kind, this.net.sched.now)) {
            return err(awsError('ThrottlingException', 'Rate exceeded'));
          }
          return serve();
        });
      } catch (error) {
        if ((error as Error).name !== 'ThrottlingException' || attempt >= 3) {
          if ((error as Error).name === 'ThrottlingException') {
            this.net.note('sm_throttled', this.scopeOf(secretId));
            throw failed(operation, secretId, error);
          }
          throw error;
        }
        await clock.sleep(this.net.latency.between(0, 100 * 2 ** attempt));
      }
    }
  }

  private call<T>(operation: string, secretId: string, serve: () => ServerResult<T>): Promise<T> {
    const { net } = this;
    const scope = this.scopeOf(secretId);
    const isWrite = operation === 'PutSecretValue' || operation === 'TagResource';
    let requestMs = net.latency.between(isWrite ? 15 : 5, isWrite ? 60 : 30);
    if (operation === 'ListSecrets') requestMs += net.latency.between(20, 80);
    const responseMs = net.latency.between(2, 15);
    let delayed = false;
    if (operation === 'PutSecretValue' && net.chaos.chance(net.faults.rates.smWriteDelayed)) {
      // A request held in the network (TCP retransmissions, up to ~15 min): it still lands, much later.
      requestMs += net.chaos.between(30_000, 900_000);
      delayed = true;
      net.note('sm_write_delayed', scope);
      this.inv.hungCalls += 1;
    }
    const spec: CallSpec<T> = {
      operation,
      requestMs,
      responseMs,
      server: () => {
        if (delayed) this.inv.hungCalls -= 1;
        const now = net.sched.now;
        if (net.faults.active('sm_outage', now)) {
          net.faults.touch(scope, now);
          return err(failed(operation, secretId, awsError('InternalServiceError', 'injected outage')));
        }
        if (isWrite && net.faults.active('sm_throttle_storm', now)) {
          net.faults.touch(scope, now);
          return err(failed(operation, secretId, awsError('ThrottlingException', 'Rate exceeded')));
        }
        if (operation === 'PutSecretValue' && this.sm.writeRefused(secretId)) {
          return err(failed(operation, secretId, awsError('InternalServiceError', 'injected write outage')));
        }
        if (this.inv.kind !== 'consumer' && net.chaos.chance(net.faults.rates.smError)) {
          net.note('sm_error', scope);
          return err(failed(operation, secretId, awsError('InternalServiceError', 'injected error')));
        }
        const result = serve();
        if (
          result.ok &&
          this.inv.kind !== 'consumer' &&
          operation !== 'ListSecrets' &&
          net.chaos.chance(net.faults.rates.smAnswerLost)
        ) {
          net.note('sm_answer_lost', scope);
          return err(failed(operation, secretId, awsError('TimeoutError', 'socket hang up')));
        }
        return result;
      },
    };
    return remoteCall(net.sched, net.crash, this.inv, spec);
  }
}

// ---------------------------------------------------------------------------------------
// KMS
// ---------------------------------------------------------------------------------------

interface KmsEntry {
  plaintext: string;
  context: string;
}

/** An encryption context as a canonical string (KMS requires the exact same context to decrypt). */
function contextKey(context: Record<string, string>): string {
  const keys = Object.keys(context).sort();
  let key = '';
  for (const k of keys) key += `${k}\u0000${context[k]}\u0001`;
  return key;
}

/**
 * KMS with one symmetric key: ciphertexts are opaque handles (base64 of random bytes),
 * decryptable only with the exact encryption context used to encrypt.
 */
export class SimKms {
  readonly keyId = 'arn:aws:kms:eu-west-1:111122223333:key/sim-refresh-token-key';
  private readonly entries = new Map<string, KmsEntry>();
  private counter = 0;

  constructor(private readonly net: Net) {}

  encryptNow(plaintext: string, context: Record<string, string>): Ciphertext {
    this.counter += 1;
    const blob = Buffer.from(`kms1:${this.counter}:${this.net.chaos.hex(24)}`).toString('base64');
    this.entries.set(blob, { plaintext, context: contextKey(context) });
    return { ciphertext: blob, keyId: this.keyId };
  }

  /** For the invariant checker only: what a ciphertext holds. */
  peek(ciphertext: string): string | undefined {
    return this.entries.get(ciphertext)?.plaintext;
  }

  serveDecrypt(ciphertext: Ciphertext, context: Record<string, string>): ServerResult<string> {
    const entry = this.entries.get(ciphertext.ciphertext);
    if (!entry || entry.context !== contextKey(context)) {
      return err(kmsFailed('Decrypt', this.keyId, awsError('InvalidCiphertextException', '')));
    }
    return ok(entry.plaintext);
  }
}

function kmsFailed(operation: 'Encrypt' | 'Decrypt', keyId: string, error: Error): TokenRefresherError {
  return dependencyFailure(`KMS ${operation} with key "${keyId}"`, error, `(${error.name}) sim`);
}

export class SimKeyService implements KeyService {
  constructor(
    private readonly net: Net,
    private readonly kms: SimKms,
    private readonly inv: Invocation,
    private readonly scopeOf: (context: Record<string, string>) => FaultScope,
  ) {}

  encrypt(plaintext: string, context: Record<string, string>): Promise<Ciphertext> {
    if (Buffer.byteLength(plaintext, 'utf8') > 4096) {
      return Promise.reject(new TokenRefresherError('plaintext exceeds the KMS Encrypt limit'));
    }
    return this.call('Encrypt', context, () => ok(this.kms.encryptNow(plaintext, context)));
  }

  decrypt(ciphertext: Ciphertext, context: Record<string, string>): Promise<string> {
    return this.call('Decrypt', context, () => this.kms.serveDecrypt(ciphertext, context));
  }

  private call<T>(
    operation: 'Encrypt' | 'Decrypt',
    context: Record<string, string>,
    serve: () => ServerResult<T>,
  ): Promise<T> {
    const { net } = this;
    const scope = this.scopeOf(context);
    return remoteCall(net.sched, net.crash, this.inv, {
      operation: `KMS ${operation}`,
      requestMs: net.latency.between(3, 15),
      responseMs: net.latency.between(1, 8),
      server: () => {
        const now = net.sched.now;
        if (net.faults.active('kms_throttle_storm', now)) {
          net.faults.touch(scope, now);
          return err(kmsFailed(operation, this.kms.keyId, awsError('ThrottlingException', 'Rate exceeded')));
        }
        if (net.chaos.chance(net.faults.rates.kmsError)) {
          net.note('kms_error', scope);
          const name = net.chaos.chance(0.5) ? 'ThrottlingException' : 'KMSInternalException';
          return err(kmsFailed(operation, this.kms.keyId, awsError(name, 'injected')));
        }
        return serve();
      },
    });
  }
}

// ---------------------------------------------------------------------------------------
// DynamoDB lease table
// ---------------------------------------------------------------------------------------

const clone = (state: LeaseState | undefined): LeaseState | undefined =>
  state
    ? {
        ...state,
        ...(state.rescue ? { rescue: { ...state.rescue } } : {}),
        ...(state.lastCommit ? { lastCommit: { ...state.lastCommit } } : {}),
        ...(state.backoff ? { backoff: { ...state.backoff } } : {}),
      }
    : undefined;

/**
 * The lease table, linearizable: each conditional write is applied atomically at the
 * instant it reaches the table, with the `now` its client computed when sending (as the
 * DynamoDB adapter does, from the invocation's own clock). An item holds what
 * `lambda/adapters/dynamodb-lease-store.ts` stores: the lease, the spent-token marker with
 * its first send time and request count (`sentAt`, `sentAttempts`), the last commit, any
 * rescue, and the failure backoff (`failureStreak`, `nextAttemptAt`, `backoffVersionId`).
 */
export class SimLeaseTable {
  readonly items = new Map<string, LeaseState>();
  /**
   * The old adapter's bug, for the `erase-marker-on-acquire` mutation: acquiring removes
   * the spent-token marker from the item (`REMOVE #outcome, #sent`) while still returning
   * the previous state with it.
   */
  eraseMarkerOnAcquire = false;
  /** Connection → the version whose send was released `unsaved`, until the next send. */
  readonly unsavedVersions = new Map<string, string>();

  constructor(
    private readonly net: Net,
    private readonly observer: AwsObserver,
  ) {}

  serveAcquire(connection: string, owner: string, leaseUntil: number, now: number): AcquireResult {
    const item = this.items.get(connection);
    if (item && item.outcome === undefined && !(item.leaseUntil < now)) {
      this.observer.leaseHeld?.(connection, owner, item.owner, this.net.sched.now);
      return { acquired: false, holder: clone(item)! };
    }
    const previous = clone(item);
    // Only the lease changes hands: the marker, the last commit and any rescue stay.
    const next: LeaseState = { ...item, connection, owner, leaseUntil };
    delete next.outcome;
    if (this.eraseMarkerOnAcquire) {
      delete next.sentFromVersionId;
      delete next.sentOutcome;
    }
    this.items.set(connection, next);
    this.observer.leaseAcquired(connection, owner, previous, this.net.sched.now);
    return previous ? { acquired: true, previous } : { acquired: true };
  }

  /**
   * As the adapter's `markSending`: the marker names `fromVersionId` with no outcome, and
   * carries the first send's time and the request count when given (else neither).
   */
  serveMarkSending(
    connection: string,
    owner: string,
    fromVersionId: string,
    marker: { sentAt: number; sentAttempts: number } | undefined,
    now: number,
  ): ServerResult<void> {
    const item = this.items.get(connection);
    if (item && item.owner === owner && item.outcome === undefined && item.leaseUntil > now) {
      item.sentFromVersionId = fromVersionId;
      delete item.sentOutcome;
      if (marker) {
        item.sentAt = marker.sentAt;
        item.sentAttempts = marker.sentAttempts;
      } else {
        delete item.sentAt;
        delete item.sentAttempts;
      }
      this.unsavedVersions.delete(connection);
      return ok(undefined);
    }
    if (item && item.owner !== owner) return err(new LeaseHeldError(connection, item.leaseUntil));
    return err(new TokenRefresherError(`the lease on connection "${connection}" is not held by this owner`));
  }

  serveRelease(connection: string, owner: string, outcome: LeaseOutcome, details: ReleaseDetails): boolean {
    const item = this.items.get(connection);
    if (!item || item.owner !== owner) return false;
    this.observer.leaseReleased(connection, owner, outcome, details, this.net.sched.now);
    item.outcome = outcome;
    if (details.sent) item.sentOutcome = outcome;
    if (details.sent && outcome === 'unsaved' && item.sentFromVersionId !== undefined) {
      this.unsavedVersions.set(connection, item.sentFromVersionId);
    }
    if (details.committed) item.lastCommit = { ...details.committed };
    if (details.sent && details.sentAttempts !== undefined) item.sentAttempts = details.sentAttempts;
    if (details.backoff === null) delete item.backoff;
    else if (details.backoff !== undefined) item.backoff = { ...details.backoff };
    if (details.clearRescue && item.rescue) {
      const rescue = item.rescue;
      delete item.rescue;
      this.observer.rescueRemoved(connection, rescue, 'cleared', this.net.sched.now);
    }
    return true;
  }

  serveStoreRescue(connection: string, owner: string, rescue: RescuedTokenSet): ServerResult<void> {
    const item = this.items.get(connection);
    if (!item || item.owner !== owner) {
      return err(
        item ? new LeaseHeldError(connection, item.leaseUntil) : new TokenRefresherError('there is no lease'),
      );
    }
    // A retried write of the same set (its first answer lost) replaces nothing.
    const same = item.rescue?.refreshToken.ciphertext === rescue.refreshToken.ciphertext;
    if (item.rescue && !same) {
      this.observer.rescueRemoved(connection, item.rescue, 'replaced', this.net.sched.now);
    }
    item.rescue = { ...rescue };
    this.observer.rescueStored(connection, rescue, this.net.sched.now);
    return ok(undefined);
  }
}

export class SimLeaseStore implements LeaseStore {
  /** Connection → whether this invocation's rescue writes for it are refused (`ddbRescueRefused`). */
  private readonly rescueRefused = new Map<string, boolean>();

  constructor(
    private readonly net: Net,
    private readonly table: SimLeaseTable,
    private readonly inv: Invocation,
  ) {}

  private clockNow(): number {
    return this.net.sched.now + this.inv.skewMs;
  }

  acquire(connection: string, lease: { owner: string; leaseUntil: number }): Promise<AcquireResult> {
    const now = this.clockNow();
    if (this.inv.clockFault) this.net.faults.touch({ connection }, this.net.sched.now);
    return this.call('acquire', connection, () =>
      ok(this.table.serveAcquire(connection, lease.owner, lease.leaseUntil, now)),
    );
  }

  markSending(
    connection: string,
    owner: string,
    fromVersionId: string,
    marker?: { sentAt: number; sentAttempts: number },
  ): Promise<void> {
    const now = this.clockNow();
    return this.call('markSending', connection, () =>
      this.table.serveMarkSending(connection, owner, fromVersionId, marker, now),
    );
  }

  release(
    connection: string,
    owner: string,
    outcome: LeaseOutcome,
    details: ReleaseDetails = {},
  ): Promise<boolean> {
    return this.call('release', connection, () =>
      ok(this.table.serveRelease(connection, owner, outcome, details)),
    );
  }

  storeRescue(connection: string, owner: string, rescue: RescuedTokenSet): Promise<void> {
    return this.call('storeRescue', connection, () => this.table.serveStoreRescue(connection, owner, rescue));
  }

  get(connection: string): Promise<LeaseState | undefined> {
    return this.call('get', connection, () => ok(clone(this.table.items.get(connection))));
  }

  /** Decided at this invocation's first rescue write for the connection, then kept. */
  private refusesRescue(connection: string): boolean {
    let refused = this.rescueRefused.get(connection);
    if (refused === undefined) {
      refused = this.net.protocolChaos.chance(this.net.faults.rates.ddbRescueRefused);
      this.rescueRefused.set(connection, refused);
      if (refused) this.net.note('ddb_rescue_refused', { connection });
    }
    return refused;
  }

  private call<T>(operation: string, connection: string, serve: () => ServerResult<T>): Promise<T> {
    const { net } = this;
    const scope: FaultScope = { connection };
    const wrap = (error: Error) =>
      dependencyFailure(`DynamoDB UpdateItem (${operation}) on lease "${connection}"`, error);
    return remoteCall(net.sched, net.crash, this.inv, {
      operation: `DynamoDB ${operation}`,
      requestMs: net.latency.between(3, 12),
      responseMs: net.latency.between(1, 6),
      server: () => {
        const now = net.sched.now;
        if (net.faults.active('ddb_outage', now)) {
          net.faults.touch(scope, now);
          return err(wrap(awsError('InternalServerError', 'injected outage')));
        }
        if (operation === 'storeRescue' && this.refusesRescue(connection)) {
          net.faults.touch(scope, now);
          return err(wrap(awsError('ProvisionedThroughputExceededException', 'injected: rescue refused')));
        }
        if (net.chaos.chance(net.faults.rates.ddbError)) {
          net.note('ddb_error', scope);
          const name = net.chaos.chance(0.5)
            ? 'ProvisionedThroughputExceededException'
            : 'InternalServerError';
          return err(wrap(awsError(name, 'injected')));
        }
        const result = serve();
        if (result.ok && operation !== 'get' && net.chaos.chance(net.faults.rates.ddbAnswerLost)) {
          net.note('ddb_answer_lost', scope);
          return err(wrap(awsError('TimeoutError', 'socket hang up')));
        }
        return result;
      },
    });
  }
}
