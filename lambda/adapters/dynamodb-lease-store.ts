import {
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod/mini';
import { LEASE_TABLE_KEY } from '../contract/names.js';
import { LeaseHeldError, TokenRefresherError } from '../core/errors.js';
import type {
  AcquireResult,
  Clock,
  ConnectionHint,
  LeaseOutcome,
  LeaseState,
  LeaseStore,
  ReleaseDetails,
  RescuedTokenSet,
} from '../core/ports.js';
import { nonEmptyString } from '../core/schema-helpers.js';
import { awsErrorName, dependencyFailure } from './aws-errors.js';
import { HINT_ATTRIBUTE, newDynamoDbClient, scanHints } from './dynamodb-hint-pages.js';

/**
 * Item attributes. The lease: `owner`, `leaseUntil` (epoch ms, N) and `outcome` (present
 * once released). The spent-token marker, kept across leases: `sentFromVersionId` and
 * `sentBy` (set by markSending), `sentOutcome` (set by the sender's release). The last
 * commit: `committedFromVersionId`, `committedVersionId`. `rescue` holds the
 * `RescuedTokenSet` as one JSON string (its tokens are KMS ciphertext). With the marker,
 * `sentAt` (epoch ms of the version's first send, N) and `sentAttempts` (N): the
 * ambiguous-answer policy's facts. The failure backoff: `failureStreak`, `nextAttemptAt`
 * (epoch ms) and `backoffVersionId`, all three or none. `hint`: the scheduling hint
 * (core/hint.ts) the last release recorded, read by runs through a projected Scan.
 *
 * Items written before the marker outlived leases have no `sentBy`: their `outcome` was
 * the sender's (acquire used to clear the marker), so it is read as `sentOutcome`.
 */
const ATTR = {
  owner: 'owner',
  leaseUntil: 'leaseUntil',
  outcome: 'outcome',
  sentFromVersionId: 'sentFromVersionId',
  sentBy: 'sentBy',
  sentOutcome: 'sentOutcome',
  committedFromVersionId: 'committedFromVersionId',
  committedVersionId: 'committedVersionId',
  rescue: 'rescue',
  sentAt: 'sentAt',
  sentAttempts: 'sentAttempts',
  failureStreak: 'failureStreak',
  nextAttemptAt: 'nextAttemptAt',
  backoffVersionId: 'backoffVersionId',
  hint: HINT_ATTRIBUTE,
} as const;

/** The table definition shared by tests, the demo and the docs (the CDK stack mirrors it). */
export function leaseTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: LEASE_TABLE_KEY, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: LEASE_TABLE_KEY, KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const outcomeSchema = z.enum(['committed', 'not_sent', 'ambiguous', 'rescued', 'unsaved']);
const ciphertextSchema = z.object({ ciphertext: nonEmptyString(), keyId: nonEmptyString() });
const rescueSchema = z.object({
  fromVersionId: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  tokenType: z.optional(z.string()),
  expiresIn: z.number(),
  scope: z.optional(z.string()),
  refreshTokenExpiresAt: z.optional(z.string()),
  providerFields: z.optional(z.record(z.string(), z.string())),
  refreshToken: ciphertextSchema,
  accessToken: z.optional(ciphertextSchema),
});

function isConditionFailure(error: unknown): boolean {
  return awsErrorName(error) === 'ConditionalCheckFailedException';
}

/** The item a failed condition check returned (`ReturnValuesOnConditionCheckFailure: ALL_OLD`). */
function conditionFailureItem(error: unknown): Record<string, AttributeValue> | undefined {
  const item = (error as { Item?: Record<string, AttributeValue> }).Item;
  return item && Object.keys(item).length > 0 ? item : undefined;
}

function invalidItem(connection: string, reason: string): TokenRefresherError {
  return new TokenRefresherError(`lease item for connection "${connection}" is invalid: ${reason}`);
}

function readOutcome(
  connection: string,
  item: Record<string, AttributeValue>,
  attribute: string,
): LeaseOutcome | undefined {
  const raw = item[attribute]?.S;
  if (raw === undefined) return undefined;
  const outcome = outcomeSchema.safeParse(raw);
  if (!outcome.success) throw invalidItem(connection, `unknown ${attribute}`);
  return outcome.data;
}

function readNumber(
  connection: string,
  item: Record<string, AttributeValue>,
  attribute: string,
): number | undefined {
  const raw = item[attribute]?.N;
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw invalidItem(connection, `invalid ${attribute}`);
  return value;
}

/** Reads a lease item. Errors name attributes, never values (a rescue holds ciphertext). */
export function leaseStateFromItem(item: Record<string, AttributeValue>): LeaseState {
  const connection = item[LEASE_TABLE_KEY]?.S;
  if (connection === undefined) throw invalidItem('(unknown)', `missing ${LEASE_TABLE_KEY}`);
  const owner = item[ATTR.owner]?.S;
  const leaseUntilRaw = item[ATTR.leaseUntil]?.N;
  if (owner === undefined) throw invalidItem(connection, `missing ${ATTR.owner}`);
  const leaseUntil = leaseUntilRaw === undefined ? Number.NaN : Number(leaseUntilRaw);
  if (!Number.isFinite(leaseUntil)) throw invalidItem(connection, `missing or invalid ${ATTR.leaseUntil}`);
  const state: LeaseState = { connection, owner, leaseUntil };
  const outcome = readOutcome(connection, item, ATTR.outcome);
  if (outcome !== undefined) state.outcome = outcome;

  const sentFromVersionId = item[ATTR.sentFromVersionId]?.S;
  if (sentFromVersionId !== undefined) {
    state.sentFromVersionId = sentFromVersionId;
    const legacy = item[ATTR.sentBy]?.S === undefined;
    const sentOutcome = legacy ? outcome : readOutcome(connection, item, ATTR.sentOutcome);
    if (sentOutcome !== undefined) state.sentOutcome = sentOutcome;
    const sentAt = readNumber(connection, item, ATTR.sentAt);
    if (sentAt !== undefined) state.sentAt = sentAt;
    const sentAttempts = readNumber(connection, item, ATTR.sentAttempts);
    if (sentAttempts !== undefined) state.sentAttempts = sentAttempts;
  }

  const failureStreak = readNumber(connection, item, ATTR.failureStreak);
  const nextAttemptAt = readNumber(connection, item, ATTR.nextAttemptAt);
  const backoffVersionId = item[ATTR.backoffVersionId]?.S;
  if (failureStreak !== undefined && nextAttemptAt !== undefined && backoffVersionId !== undefined) {
    state.backoff = { failureStreak, nextAttemptAt, versionId: backoffVersionId };
  }

  const committedFrom = item[ATTR.committedFromVersionId]?.S;
  const committedVersion = item[ATTR.committedVersionId]?.S;
  if (committedFrom !== undefined && committedVersion !== undefined) {
    state.lastCommit = { fromVersionId: committedFrom, versionId: committedVersion };
  }

  const hint = item[ATTR.hint]?.S;
  if (hint !== undefined) state.hint = hint;

  const rescueRaw = item[ATTR.rescue]?.S;
  if (rescueRaw !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(rescueRaw);
    } catch {
      throw invalidItem(connection, `${ATTR.rescue} is not valid JSON`);
    }
    const rescue = rescueSchema.safeParse(json);
    if (!rescue.success) {
      const fields = rescue.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`);
      throw invalidItem(connection, `${ATTR.rescue} has invalid fields: ${fields.join('; ')}`);
    }
    const parsed: RescuedTokenSet = {
      fromVersionId: rescue.data.fromVersionId,
      issuedAt: rescue.data.issuedAt,
      expiresAt: rescue.data.expiresAt,
      expiresIn: rescue.data.expiresIn,
      refreshToken: rescue.data.refreshToken,
    };
    if (rescue.data.tokenType !== undefined) parsed.tokenType = rescue.data.tokenType;
    if (rescue.data.scope !== undefined) parsed.scope = rescue.data.scope;
    if (rescue.data.refreshTokenExpiresAt !== undefined)
      parsed.refreshTokenExpiresAt = rescue.data.refreshTokenExpiresAt;
    if (rescue.data.providerFields !== undefined) parsed.providerFields = rescue.data.providerFields;
    if (rescue.data.accessToken !== undefined) parsed.accessToken = rescue.data.accessToken;
    state.rescue = parsed;
  }
  return state;
}

export interface DynamoDbLeaseStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Decides whether a holder's lease has expired; defaults to the system clock. */
  clock?: Clock;
  /** Items per hint page (Scan `Limit`); absent: DynamoDB's 1 MB pages. */
  hintPageSize?: number;
}

/**
 * `LeaseStore` over one DynamoDB table keyed by connection. Every change is a single
 * conditional `UpdateItem`, so a lease is taken, released or given a rescue atomically.
 * Acquiring touches only the lease attributes: the marker, the last commit and any rescue
 * survive until a holder replaces them.
 */
export class DynamoDbLeaseStore implements LeaseStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly hintPageSize?: number;

  constructor(options: DynamoDbLeaseStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.hintPageSize = options.hintPageSize;
  }

  private key(connection: string): Record<string, AttributeValue> {
    return { [LEASE_TABLE_KEY]: { S: connection } };
  }

  private failed(operation: string, connection: string, error: unknown): TokenRefresherError {
    return dependencyFailure(
      `DynamoDB ${operation} on lease "${connection}" in table "${this.tableName}"`,
      error,
    );
  }

  async acquire(connection: string, lease: { owner: string; leaseUntil: number }): Promise<AcquireResult> {
    // A condition failure normally carries the holder; when it does not, a consistent read
    // fills in. Should that read find the lease free again (released meanwhile), try again.
    for (let attempt = 1; ; attempt++) {
      const input: UpdateItemCommandInput = {
        TableName: this.tableName,
        Key: this.key(connection),
        // SET the lease and REMOVE the previous lease's outcome; nothing else is touched.
        UpdateExpression: 'SET #owner = :owner, #until = :until REMOVE #outcome',
        ConditionExpression: 'attribute_not_exists(#key) OR attribute_exists(#outcome) OR #until < :now',
        ExpressionAttributeNames: {
          '#key': LEASE_TABLE_KEY,
          '#owner': ATTR.owner,
          '#until': ATTR.leaseUntil,
          '#outcome': ATTR.outcome,
        },
        ExpressionAttributeValues: {
          ':owner': { S: lease.owner },
          ':until': { N: String(lease.leaseUntil) },
          ':now': { N: String(this.clock.now()) },
        },
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      };
      try {
        const response = await this.client.send(new UpdateItemCommand(input));
        const old = response.Attributes;
        if (old && Object.keys(old).length > 0) return { acquired: true, previous: leaseStateFromItem(old) };
        return { acquired: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw this.failed('UpdateItem (acquire)', connection, error);
        const item = conditionFailureItem(error);
        // An item without an owner is not a lease (DynamoDB never shows one; moto can show a
        // half-applied concurrent write): read the settled state instead.
        if (item?.[ATTR.owner]?.S !== undefined) return { acquired: false, holder: leaseStateFromItem(item) };
        const holder = await this.get(connection);
        const free =
          holder === undefined || holder.outcome !== undefined || holder.leaseUntil < this.clock.now();
        if (holder && (!free || attempt >= 3)) return { acquired: false, holder };
        if (attempt >= 3) {
          throw new TokenRefresherError(`could not acquire the lease on "${connection}": it kept changing`);
        }
      }
    }
  }

  /**
   * Records that the refresh token of `fromVersionId` is about to be sent, replacing the
   * marker (and clearing its outcome until this owner releases). Succeeds only while
   * `owner` holds an unreleased, unexpired lease (by this store's clock): past its lease
   * another invocation may take over and send the same single-use token. Throws otherwise
   * (`LeaseHeldError` when another owner holds it), so nothing is sent.
   */
  async markSending(
    connection: string,
    owner: string,
    fromVersionId: string,
    marker?: { sentAt: number; sentAttempts: number },
  ): Promise<void> {
    const now = this.clock.now();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(connection),
          UpdateExpression: marker
            ? 'SET #sent = :sent, #sentBy = :owner, #sentAt = :sentAt, #sentAttempts = :sentAttempts REMOVE #sentOutcome'
            : 'SET #sent = :sent, #sentBy = :owner REMOVE #sentOutcome, #sentAt, #sentAttempts',
          ConditionExpression: '#owner = :owner AND attribute_not_exists(#outcome) AND #until > :now',
          ExpressionAttributeNames: {
            '#owner': ATTR.owner,
            '#outcome': ATTR.outcome,
            '#until': ATTR.leaseUntil,
            '#sent': ATTR.sentFromVersionId,
            '#sentBy': ATTR.sentBy,
            '#sentOutcome': ATTR.sentOutcome,
            '#sentAt': ATTR.sentAt,
            '#sentAttempts': ATTR.sentAttempts,
          },
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':now': { N: String(now) },
            ':sent': { S: fromVersionId },
            ...(marker
              ? {
                  ':sentAt': { N: String(marker.sentAt) },
                  ':sentAttempts': { N: String(marker.sentAttempts) },
                }
              : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw this.failed('UpdateItem (markSending)', connection, error);
      throw await this.notHeld(connection, owner, conditionFailureItem(error), now);
    }
  }

  /** The error for a conditional write by `owner` that found the lease not (or no longer) theirs. */
  private async notHeld(
    connection: string,
    owner: string,
    failedItem: Record<string, AttributeValue> | undefined,
    now: number,
  ): Promise<TokenRefresherError> {
    let item = failedItem;
    if (item === undefined) {
      // Only when the service did not return the item: read it to say what happened.
      try {
        const response = await this.client.send(
          new GetItemCommand({ TableName: this.tableName, Key: this.key(connection), ConsistentRead: true }),
        );
        item = response.Item;
      } catch {
        // The error below still says the lease is not held.
      }
    }
    const holder = item?.[ATTR.owner]?.S;
    const until = Number(item?.[ATTR.leaseUntil]?.N ?? 0);
    if (holder !== undefined && holder !== owner) {
      return new LeaseHeldError(connection, Number.isFinite(until) ? until : 0);
    }
    const reason =
      holder === undefined
        ? 'there is no lease'
        : item?.[ATTR.outcome]?.S !== undefined
          ? 'it was already released'
          : until <= now
            ? 'it expired'
            : 'it changed';
    return new TokenRefresherError(
      `the lease on connection "${connection}" is not held by this owner: ${reason}`,
    );
  }

  /**
   * Ends the lease if `owner` still holds it, recording its outcome, the marker's outcome
   * when this owner sent, and the version it committed. Returns `false`, changing nothing,
   * when someone else took the lease over (or there is no lease); never throws for that.
   */
  async release(
    connection: string,
    owner: string,
    outcome: LeaseOutcome,
    details: ReleaseDetails = {},
  ): Promise<boolean> {
    const set = ['#outcome = :outcome'];
    const names: Record<string, string> = {
      '#key': LEASE_TABLE_KEY,
      '#owner': ATTR.owner,
      '#outcome': ATTR.outcome,
    };
    const values: Record<string, AttributeValue> = { ':owner': { S: owner }, ':outcome': { S: outcome } };
    if (details.sent) {
      set.push('#sentOutcome = :outcome');
      names['#sentOutcome'] = ATTR.sentOutcome;
    }
    if (details.committed) {
      set.push('#committedFrom = :committedFrom', '#committedVersion = :committedVersion');
      names['#committedFrom'] = ATTR.committedFromVersionId;
      names['#committedVersion'] = ATTR.committedVersionId;
      values[':committedFrom'] = { S: details.committed.fromVersionId };
      values[':committedVersion'] = { S: details.committed.versionId };
    }
    if (details.sent && details.sentAttempts !== undefined) {
      set.push('#sentAttempts = :sentAttempts');
      names['#sentAttempts'] = ATTR.sentAttempts;
      values[':sentAttempts'] = { N: String(details.sentAttempts) };
    }
    const remove: string[] = [];
    if (details.hint !== undefined) {
      names['#hint'] = ATTR.hint;
      if (details.hint === null) remove.push('#hint');
      else {
        set.push('#hint = :hint');
        values[':hint'] = { S: details.hint };
      }
    }
    if (details.clearRescue) {
      names['#rescue'] = ATTR.rescue;
      remove.push('#rescue');
    }
    if (details.backoff !== undefined) {
      names['#failureStreak'] = ATTR.failureStreak;
      names['#nextAttemptAt'] = ATTR.nextAttemptAt;
      names['#backoffVersionId'] = ATTR.backoffVersionId;
      if (details.backoff === null) {
        remove.push('#failureStreak', '#nextAttemptAt', '#backoffVersionId');
      } else {
        set.push(
          '#failureStreak = :failureStreak',
          '#nextAttemptAt = :nextAttemptAt',
          '#backoffVersionId = :backoffVersionId',
        );
        values[':failureStreak'] = { N: String(details.backoff.failureStreak) };
        values[':nextAttemptAt'] = { N: String(details.backoff.nextAttemptAt) };
        values[':backoffVersionId'] = { S: details.backoff.versionId };
      }
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(connection),
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(#key) AND #owner = :owner',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.failed('UpdateItem (release)', connection, error);
    }
  }

  /**
   * Stores the rescue while the item still names `owner` (released or expired included:
   * nobody else has the lease, and losing the token set is worse). Throws, storing nothing,
   * when another owner took the lease over (`LeaseHeldError`) or there is no lease.
   */
  async storeRescue(connection: string, owner: string, rescue: RescuedTokenSet): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(connection),
          // Without its hint, the next run reads the record and restores the set.
          UpdateExpression: 'SET #rescue = :rescue REMOVE #hint',
          ConditionExpression: 'attribute_exists(#key) AND #owner = :owner',
          ExpressionAttributeNames: {
            '#key': LEASE_TABLE_KEY,
            '#owner': ATTR.owner,
            '#rescue': ATTR.rescue,
            '#hint': ATTR.hint,
          },
          ExpressionAttributeValues: { ':owner': { S: owner }, ':rescue': { S: JSON.stringify(rescue) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw this.failed('UpdateItem (storeRescue)', connection, error);
      throw await this.notHeld(connection, owner, conditionFailureItem(error), this.clock.now());
    }
  }

  async get(connection: string): Promise<LeaseState | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const response = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key(connection), ConsistentRead: true }),
      );
      item = response.Item;
    } catch (error) {
      throw this.failed('GetItem', connection, error);
    }
    return item ? leaseStateFromItem(item) : undefined;
  }

  /** Every item's hint (`scanHints`). */
  hints(): AsyncIterable<ConnectionHint> {
    return scanHints(this.client, this.tableName, this.hintPageSize);
  }
}

/**
 * The lease store on `options.client`, or on a new default client. The composition root
 * imports this module on first use: what it names statically from the SDK is all a bundle
 * carries (a dynamic `import()` of the SDK package itself would keep every command).
 */
export function createDynamoDbLeaseStore(
  options: Omit<DynamoDbLeaseStoreOptions, 'client'> & { client?: DynamoDBClient },
): DynamoDbLeaseStore {
  return new DynamoDbLeaseStore({ ...options, client: options.client ?? newDynamoDbClient() });
}
