import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { awsClock } from '../../cli/aws-clock.js';
import { DynamoDbLeaseStore } from '../../lambda/adapters/dynamodb-lease-store.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { dynamoDbClient } from '../support/aws-fixtures.js';
import { CliSandbox } from './support.js';

/**
 * The operator's leases are taken on AWS's clock (cli/aws-clock.ts): a laptop whose clock
 * runs fast must not see a live refresher lease as expired and take it over.
 */
describe("the CLI takes leases on AWS's clock (moto)", () => {
  let auth: AuthServer;
  let sandbox: CliSandbox;
  let leases: DynamoDbLeaseStore;

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
    sandbox = await new CliSandbox(auth).setUp();
    leases = new DynamoDbLeaseStore({ client: dynamoDbClient(), tableName: sandbox.tableName });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await auth?.stop();
  });

  async function imported(name: string): Promise<void> {
    const client = auth.client('client_secret_post');
    const minted = await auth.mintRefreshToken({ clientId: client.clientId });
    sandbox.sensitive.add(minted);
    const run = await sandbox.run(sandbox.importArgs(name, client), { stdin: `${minted}\n` });
    expect(run.code, run.stderr).toBe(0);
  }

  /** This machine's clock runs `ms` ahead of the real time (and of AWS's). */
  function clockAhead(ms: number): void {
    const real = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: real + ms });
  }

  it('a laptop two minutes fast does not take over a live refresher lease', async () => {
    await imported('skewed');
    // The refresher holds the lease for another minute (by AWS's clock).
    await leases.acquire('skewed', { owner: 'refresher/scheduled', leaseUntil: Date.now() + 60_000 });

    clockAhead(2 * 60_000);
    const run = await sandbox.run(['disable', 'skewed']);
    vi.useRealTimers();

    expect(run.code).toBe(4); // refused: the lease is held
    expect(run.stderr).toMatch(/is being refreshed right now/);
    expect(run.stderr).toMatch(/notice: this machine's clock is 1[12]\d s ahead of AWS's/);
    expect((await leases.get('skewed'))?.owner).toBe('refresher/scheduled');
    expect((await sandbox.current('skewed')).record.status).toBe('active');
    await leases.release('skewed', 'refresher/scheduled', 'not_sent');
  });

  it('refuses to take a lease when the answer carries no Date to check the clock against', async () => {
    const client = new DynamoDBClient({});
    // A stub answers without any HTTP response, so without a Date header.
    mockClient(client).on(GetItemCommand).resolves({});
    await expect(awsClock(client, sandbox.tableName, 'any', () => {})).rejects.toThrow(
      /no Date header.*refusing to take the connection's lease on an unchecked clock/,
    );
  });

  it('once the lease has expired by AWS’s clock, the same laptop takes it', async () => {
    await imported('expired');
    await leases.acquire('expired', { owner: 'refresher/scheduled', leaseUntil: Date.now() - 1_000 });
    clockAhead(2 * 60_000);
    const run = await sandbox.run(['disable', 'expired']);
    vi.useRealTimers();
    expect(run.code, run.stderr).toBe(0);
    expect((await sandbox.current('expired')).record.status).toBe('disabled');
    expect(sandbox.leaked()).toEqual([]);
  });
});
