import {
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLeaseStore, leaseTableDefinition } from '../../../lambda/adapters/dynamodb-lease-store.js';
import { LEASE_TABLE_KEY } from '../../../lambda/contract/names.js';
import { LeaseHeldError, TokenRefresherError } from '../../../lambda/core/errors.js';
import type { Clock, RescuedTokenSet } from '../../../lambda/core/ports.js';
import { createLeaseTable, dynamoDbClient, uniqueName } from '../../support/aws-fixtures.js';

const client = dynamoDbClient();
let tableName: string;

/** A clock the test moves by hand. */
function manualClock(start = 1_800_000_000_000): Clock & { set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    set: (ms) => {
      now = ms;
    },
  };
}

const T0 = 1_800_000_000_000;
const MINUTE = 60_000;

function rescueFixture(fromVersionId: string): RescuedTokenSet {
  return {
    fromVersionId,
    issuedAt: '2027-01-15T08:00:00.000Z',
    expiresAt: '2027-01-15T09:00:00.000Z',
    tokenType: 'Bearer',
    expiresIn: 3600,
    scope: 'read write',
    refreshToken: { ciphertext: 'AQIDBAUG', keyId: 'arn:aws:kms:us-east-1:123456789012:key/rt' },
    accessToken: { ciphertext: 'BwgJCgsM', keyId: 'arn:aws:kms:us-east-1:123456789012:key/rt' },
  };
}

async function rawItem(connection: string) {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { [LEASE_TABLE_KEY]: { S: connection } },
      ConsistentRead: true,
    }),
  );
  return Item;
}

beforeAll(async () => {
  tableName = await createLeaseTable(client);
});

describe('leaseTableDefinition', () => {
  it('creates an on-demand table keyed by connection', async () => {
    expect(leaseTableDefinition('t').BillingMode).toBe('PAY_PER_REQUEST');
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.KeySchema).toEqual([{ AttributeName: LEASE_TABLE_KEY, KeyType: 'HASH' }]);
  });
});

describe('DynamoDbLeaseStore', () => {
  it('acquires a lease on an empty connection, with no previous state', async () => {
    const store = new DynamoDbLeaseStore({ client, tableName, clock: manualClock(T0) });
    const connection = uniqueName('conn');
    const result = await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    expect(result).toEqual({ acquired: true });
    expect(await store.get(connection)).toEqual({ connection, owner: 'a', leaseUntil: T0 + MINUTE });
  });

  it('refuses a second acquire while the lease is held, reporting the holder', async () => {
    const clock = manualClock(T0);
    const store = new DynamoDbLeaseStore({ client, tableName, clock });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    await store.markSending(connection, 'a', 'v1');
    clock.set(T0 + MINUTE - 1);
    const result = await store.acquire(connection, { owner: 'b', leaseUntil: T0 + 3 * MINUTE });
    expect(result).toEqual({
      acquired: false,
      holder: { connection, owner: 'a', leaseUntil: T0 + MINUTE, sentFromVersionId: 'v1' },
    });
    expect(await store.get(connection)).toEqual({
      connection,
      owner: 'a',
      leaseUntil: T0 + MINUTE,
      sentFromVersionId: 'v1',
    });
  });

  it('takes over an expired lease, returning the interrupted state and keeping its marker', async () => {
    const clock = manualClock(T0);
    const store = new DynamoDbLeaseStore({ client, tableName, clock });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    await store.markSending(connection, 'a', 'v1');
    clock.set(T0 + MINUTE + 1);
    const result = await store.acquire(connection, { owner: 'b', leaseUntil: T0 + 3 * MINUTE });
    expect(result).toEqual({
      acquired: true,
      previous: { connection, owner: 'a', leaseUntil: T0 + MINUTE, sentFromVersionId: 'v1' },
    });
    // The marker survives the takeover, still without an outcome: the attempt was interrupted.
    expect(await store.get(connection)).toEqual({
      connection,
      owner: 'b',
      leaseUntil: T0 + 3 * MINUTE,
      sentFromVersionId: 'v1',
    });
    // A release by a holder that did not send leaves it so.
    await store.release(connection, 'b', 'not_sent');
    expect(await store.get(connection)).toMatchObject({ outcome: 'not_sent', sentFromVersionId: 'v1' });
    expect((await store.get(connection))?.sentOutcome).toBeUndefined();
  });

  it('keeps the marker and its outcome across acquisitions until the next send replaces them', async () => {
    const store = new DynamoDbLeaseStore({ client, tableName, clock: manualClock(T0) });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    await store.markSending(connection, 'a', 'v1');
    expect(await store.release(connection, 'a', 'unsaved', { sent: true })).toBe(true);
    expect(await store.get(connection)).toMatchObject({ outcome: 'unsaved', sentOutcome: 'unsaved' });

    const result = await store.acquire(connection, { owner: 'b', leaseUntil: T0 + MINUTE });
    expect(result).toEqual({
      acquired: true,
      previous: {
        connection,
        owner: 'a',
        leaseUntil: T0 + MINUTE,
        outcome: 'unsaved',
        sentFromVersionId: 'v1',
        sentOutcome: 'unsaved',
      },
    });
    // Only the lease's outcome is cleared by acquiring.
    expect(await store.get(connection)).toEqual({
      connection,
      owner: 'b',
      leaseUntil: T0 + MINUTE,
      sentFromVersionId: 'v1',
      sentOutcome: 'unsaved',
    });
    expect((await rawItem(connection))?.outcome).toBeUndefined();

    // A holder that does not send, and commits: the marker stays, the commit is recorded.
    await store.release(connection, 'b', 'committed', {
      committed: { fromVersionId: 'v1', versionId: 'v2' },
    });
    expect(await store.get(connection)).toMatchObject({
      sentFromVersionId: 'v1',
      sentOutcome: 'unsaved',
      lastCommit: { fromVersionId: 'v1', versionId: 'v2' },
    });

    // The next send replaces the marker and clears its outcome until that sender releases.
    await store.acquire(connection, { owner: 'c', leaseUntil: T0 + MINUTE });
    await store.markSending(connection, 'c', 'v2');
    const sending = await store.get(connection);
    expect(sending).toMatchObject({ sentFromVersionId: 'v2', lastCommit: { versionId: 'v2' } });
    expect(sending?.sentOutcome).toBeUndefined();
    await store.release(connection, 'c', 'ambiguous', { sent: true });
    expect(await store.get(connection)).toMatchObject({ sentFromVersionId: 'v2', sentOutcome: 'ambiguous' });
  });

  it('keeps the marker facts (first send, request count) and the failure backoff across leases', async () => {
    const store = new DynamoDbLeaseStore({ client, tableName, clock: manualClock(T0) });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    await store.markSending(connection, 'a', 'v1', { sentAt: T0, sentAttempts: 1 });
    await store.release(connection, 'a', 'ambiguous', {
      sent: true,
      sentAttempts: 2,
      backoff: { failureStreak: 1, nextAttemptAt: T0 + 5 * MINUTE, versionId: 'v1' },
    });
    await store.acquire(connection, { owner: 'b', leaseUntil: T0 + MINUTE });
    expect(await store.get(connection)).toMatchObject({
      sentFromVersionId: 'v1',
      sentOutcome: 'ambiguous',
      sentAt: T0,
      sentAttempts: 2,
      backoff: { failureStreak: 1, nextAttemptAt: T0 + 5 * MINUTE, versionId: 'v1' },
    });
    // A release that says nothing of the backoff keeps it; `null` clears it.
    await store.release(connection, 'b', 'not_sent');
    expect((await store.get(connection))?.backoff).toBeDefined();
    await store.acquire(connection, { owner: 'c', leaseUntil: T0 + MINUTE });
    await store.release(connection, 'c', 'committed', {
      committed: { fromVersionId: 'v1', versionId: 'v2' },
      backoff: null,
    });
    const after = await store.get(connection);
    expect(after?.backoff).toBeUndefined();
    expect(await rawItem(connection)).not.toHaveProperty('nextAttemptAt');
    // A send without marker facts drops the old ones.
    await store.acquire(connection, { owner: 'd', leaseUntil: T0 + MINUTE });
    await store.markSending(connection, 'd', 'v2');
    const sending = await store.get(connection);
    expect(sending?.sentAt).toBeUndefined();
    expect(sending?.sentAttempts).toBeUndefined();
  });

  it('keeps a rescue without an access token or a token type (a salvaged refresh token)', async () => {
    const store = new DynamoDbLeaseStore({ client, tableName, clock: manualClock(T0) });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    const { tokenType: _t, accessToken: _a, scope: _s, ...bare } = rescueFixture('v1');
    const salvaged: RescuedTokenSet = {
      ...bare,
      refreshTokenExpiresAt: '2027-07-15T08:00:00.000Z',
      providerFields: { instance_url: 'https://example.my.salesforce.com' },
    };
    await store.storeRescue(connection, 'a', salvaged);
    expect((await store.get(connection))?.rescue).toEqual(salvaged);
  });

  it('reads an item written before markers outlived leases: its outcome was the sender’s', async () => {
    const connection = uniqueName('conn');
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          [LEASE_TABLE_KEY]: { S: connection },
          owner: { S: 'old' },
          leaseUntil: { N: String(T0) },
          sentFromVersionId: { S: 'v1' },
          outcome: { S: 'unsaved' },
        },
      }),
    );
    const store = new DynamoDbLeaseStore({ client, tableName, clock: manualClock(T0 + MINUTE) });
    expect(await store.get(connection)).toMatchObject({ sentFromVersionId: 'v1', sentOutcome: 'unsaved' });
  });

  it('marks sending only for the owner of a live, unreleased lease', async () => {
    const clock = manualClock(T0);
    const store = new DynamoDbLeaseStore({ client, tableName, clock });

    // Another owner holds it.
    const held = uniqueName('conn');
    await store.acquire(held, { owner: 'a', leaseUntil: T0 + MINUTE });
    const byOther = await store.markSending(held, 'b', 'v1').catch((e: unknown) => e);
    expect(byOther).toBeInstanceOf(LeaseHeldError);
    expect((byOther as LeaseHeldError).until).toBe(T0 + MINUTE);

    // Our lease expired: someone may take over and send the same token, so refuse.
    clock.set(T0 + MINUTE);
    const expired = await store.markSending(held, 'a', 'v1').catch((e: unknown) => e);
    expect(expired).toBeInstanceOf(TokenRefresherError);
    expect((expired as Error).message).toMatch(/expired/);
    expect((await store.get(held))?.sentFromVersionId).toBeUndefined();

    // Already released.
    const released = uniqueName('conn');
    await store.acquire(released, { owner: 'a', leaseUntil: T0 + 3 * MINUTE });
    await store.release(released, 'a', 'not_sent');
    const afterRelease = await store.markSending(released, 'a', 'v1').catch((e: unknown) => e);
    expect((afterRelease as Error).message).toMatch(/released/);
    expect((await store.get(released))?.sentFromVersionId).toBeUndefined();

    // No lease at all.
    const missing = await store.markSending(uniqueName('conn'), 'a', 'v1').catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/no lease/);
  });

  it('ignores a release by a non-owner, leaving the item unchanged', async () => {
    const clock = manualClock(T0);
    const store = new DynamoDbLeaseStore({ client, tableName, clock });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    clock.set(T0 + 2 * MINUTE);
    await store.acquire(connection, { owner: 'b', leaseUntil: T0 + 4 * MINUTE });
    await store.markSending(connection, 'b', 'v1');
    await store.storeRescue(connection, 'b', rescueFixture('v1'));
    const before = await rawItem(connection);

    // `a` comes back late and tries to release with clearRescue.
    expect(await store.release(connection, 'a', 'committed', { clearRescue: true })).toBe(false);
    expect(await rawItem(connection)).toEqual(before);
    // Releasing a connection that has no item is also quiet.
    expect(await store.release(uniqueName('conn'), 'a', 'committed')).toBe(false);
  });

  it('keeps a rescue across new leases and clears it only on release with clearRescue', async () => {
    const clock = manualClock(T0);
    const store = new DynamoDbLeaseStore({ client, tableName, clock });
    const connection = uniqueName('conn');
    const rescue = rescueFixture('v1');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    await store.storeRescue(connection, 'a', rescue);
    expect((await store.get(connection))?.rescue).toEqual(rescue);
    await store.release(connection, 'a', 'rescued');

    const second = await store.acquire(connection, { owner: 'b', leaseUntil: T0 + MINUTE });
    expect(second).toMatchObject({ acquired: true, previous: { owner: 'a', outcome: 'rescued', rescue } });
    expect((await store.get(connection))?.rescue).toEqual(rescue);

    // Released without clearRescue: still there, and still there after an expired takeover.
    await store.release(connection, 'b', 'not_sent');
    expect((await store.get(connection))?.rescue).toEqual(rescue);
    await store.acquire(connection, { owner: 'c', leaseUntil: T0 + MINUTE });
    clock.set(T0 + 2 * MINUTE);
    await store.acquire(connection, { owner: 'd', leaseUntil: T0 + 3 * MINUTE });
    expect((await store.get(connection))?.rescue).toEqual(rescue);

    expect(await store.release(connection, 'd', 'committed', { clearRescue: true })).toBe(true);
    const after = await store.get(connection);
    expect(after?.rescue).toBeUndefined();
    expect(after?.outcome).toBe('committed');
    expect((await rawItem(connection))?.rescue).toBeUndefined();
  });

  it('keeps a rescue without optional fields exactly', async () => {
    const store = new DynamoDbLeaseStore({ client, tableName, clock: manualClock(T0) });
    const connection = uniqueName('conn');
    const { scope: _scope, accessToken: _accessToken, ...minimal } = rescueFixture('v7');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    await store.storeRescue(connection, 'a', minimal);
    expect((await store.get(connection))?.rescue).toEqual(minimal);
  });

  it('refuses to store a rescue for an owner that lost the lease', async () => {
    const clock = manualClock(T0);
    const store = new DynamoDbLeaseStore({ client, tableName, clock });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    clock.set(T0 + 2 * MINUTE);
    await store.acquire(connection, { owner: 'b', leaseUntil: T0 + 4 * MINUTE });
    const error = await store.storeRescue(connection, 'a', rescueFixture('v1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseHeldError);
    expect((error as LeaseHeldError).until).toBe(T0 + 4 * MINUTE);
    expect((error as Error).message).not.toContain('AQIDBAUG');
    expect((await store.get(connection))?.rescue).toBeUndefined();
  });

  it('stores a rescue for the owner even after its lease expired, while nobody took over', async () => {
    const clock = manualClock(T0);
    const store = new DynamoDbLeaseStore({ client, tableName, clock });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    clock.set(T0 + 2 * MINUTE);
    await store.storeRescue(connection, 'a', rescueFixture('v1'));
    expect((await store.get(connection))?.rescue).toEqual(rescueFixture('v1'));
  });

  it('returns undefined for an unknown connection', async () => {
    const store = new DynamoDbLeaseStore({ client, tableName });
    expect(await store.get(uniqueName('conn'))).toBeUndefined();
  });

  it('records the scheduling hint with the release, keeps it across leases, and drops it with a rescue', async () => {
    const clock = manualClock(T0);
    const store = new DynamoDbLeaseStore({ client, tableName, clock });
    const connection = uniqueName('conn');
    await store.acquire(connection, { owner: 'a', leaseUntil: T0 + MINUTE });
    await store.release(connection, 'a', 'committed', { hint: '1/v1/active/1/2' });
    expect((await store.get(connection))?.hint).toBe('1/v1/active/1/2');

    // A release without a hint leaves it; a taken-over release writes none.
    await store.acquire(connection, { owner: 'b', leaseUntil: T0 + MINUTE });
    expect(await store.release(connection, 'b', 'not_sent')).toBe(true);
    expect((await store.get(connection))?.hint).toBe('1/v1/active/1/2');
    await store.acquire(connection, { owner: 'c', leaseUntil: T0 + MINUTE });
    clock.set(T0 + 2 * MINUTE);
    await store.acquire(connection, { owner: 'd', leaseUntil: T0 + 3 * MINUTE });
    expect(await store.release(connection, 'c', 'not_sent', { hint: '1/v9/active/1/2' })).toBe(false);
    expect((await store.get(connection))?.hint).toBe('1/v1/active/1/2');

    // Storing a rescue removes the hint, so the next run reads the record and restores it.
    await store.storeRescue(connection, 'd', rescueFixture('v1'));
    expect((await store.get(connection))?.hint).toBeUndefined();
    expect((await rawItem(connection))?.hint).toBeUndefined();
    await store.release(connection, 'd', 'rescued', { hint: '1/v2/active/1/2' });
    expect((await store.get(connection))?.hint).toBe('1/v2/active/1/2');
    await store.acquire(connection, { owner: 'e', leaseUntil: T0 + 3 * MINUTE });
    await store.release(connection, 'e', 'ambiguous', { hint: null });
    expect((await rawItem(connection))?.hint).toBeUndefined();
  });

  it('pages every hint of the table, leaving out items without one', async () => {
    const table = await createLeaseTable(client);
    const store = new DynamoDbLeaseStore({
      client,
      tableName: table,
      clock: manualClock(T0),
      hintPageSize: 4,
    });
    const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
    for (const name of names) {
      await store.acquire(name, { owner: 'a', leaseUntil: T0 + MINUTE });
      await store.release(name, 'a', 'committed', name === 'c3' ? {} : { hint: `1/${name}/active/1/2` });
    }
    const hints: { connection: string; hint: string }[] = [];
    for await (const hint of store.hints()) hints.push(hint);
    expect(hints.sort((x, y) => x.connection.localeCompare(y.connection))).toEqual(
      names.filter((n) => n !== 'c3').map((n) => ({ connection: n, hint: `1/${n}/active/1/2` })),
    );
  });
});

/**
 * Real DynamoDB serialises writes to an item. moto_server does not (it serves requests on
 * threads and its UpdateItem checks and writes without a lock), so the test suite runs
 * moto one request at a time (sandbox/moto_serial_server.py), which restores the
 * guarantee this race relies on.
 */
describe('DynamoDbLeaseStore under concurrency', () => {
  it('lets exactly one of two concurrent acquires win', async () => {
    const clients = [new DynamoDBClient({}), new DynamoDBClient({})];
    const raceTable = await createLeaseTable(clients[0]);
    const stores = clients.map((c) => new DynamoDbLeaseStore({ client: c, tableName: raceTable }));
    for (let round = 0; round < 20; round++) {
      const connection = uniqueName('race');
      const leaseUntil = Date.now() + MINUTE;
      const results = await Promise.all(
        stores.map((store, i) => store.acquire(connection, { owner: `owner-${i}`, leaseUntil })),
      );
      const winners = results.flatMap((r, i) => (r.acquired ? [i] : []));
      expect(winners).toHaveLength(1);
      const winner = `owner-${winners[0]}`;
      const loser = results.find((r) => !r.acquired);
      expect(loser).toMatchObject({ acquired: false, holder: { owner: winner } });
      expect((await stores[0]!.get(connection))?.owner).toBe(winner);
    }
  });
});
