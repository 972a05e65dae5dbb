import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { LEASE_TABLE_KEY } from '../lambda/contract/names.js';
import type { Clock } from '../lambda/core/ports.js';
import { CliError } from './errors.js';

/**
 * The clock the operator's leases are taken on: AWS's, not this machine's.
 *
 * A lease is free once its `leaseUntil` has passed by the taker's clock. The refresher
 * runs on Lambda's synchronized clock; a laptop running a few minutes fast would see a
 * live refresher lease as expired and take it over (and one running slow would write a
 * lease that AWS sees expire early). So before the CLI takes a lease it makes one read of
 * the lease table and keeps the skew the AWS SDK measured from that response's `Date`
 * header: SDK v3 sets `config.systemClockOffset` (server time minus local time) from every
 * response's `Date` and signs with it, and this clock reuses that offset. Its resolution is
 * a second (the header's), far inside the lease margin (30 s). No `Date` header, no lease:
 * the CLI refuses rather than trust the local clock.
 */

/** Beyond this, the operator is told the local clock is off (the leases use AWS's time anyway). */
export const CLOCK_SKEW_NOTICE_MS = 5_000;

export async function awsClock(
  client: DynamoDBClient,
  tableName: string,
  connection: string,
  notice: (message: string) => void,
): Promise<Clock> {
  const command = new GetItemCommand({
    TableName: tableName,
    Key: { [LEASE_TABLE_KEY]: { S: connection } },
    ProjectionExpression: '#key',
    ExpressionAttributeNames: { '#key': LEASE_TABLE_KEY },
  });
  let dated = false;
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string> }).headers ?? {};
      dated = Number.isFinite(Date.parse(headers.date ?? headers.Date ?? ''));
      return result;
    },
    { step: 'deserialize', name: 'tokenRefresherServerDate' },
  );
  await client.send(command);
  if (!dated) {
    throw new CliError(
      "the lease table's answer carried no Date header, so this machine's clock cannot be checked against " +
        "AWS's; refusing to take the connection's lease on an unchecked clock",
    );
  }
  const offsetMs = () => client.config.systemClockOffset ?? 0;
  const skew = offsetMs();
  if (Math.abs(skew) > CLOCK_SKEW_NOTICE_MS) {
    const seconds = Math.round(Math.abs(skew) / 1000);
    notice(
      `this machine's clock is ${seconds} s ${skew < 0 ? 'ahead of' : 'behind'} AWS's; ` +
        "the connection's lease is taken on AWS's time",
    );
  }
  return {
    now: () => Date.now() + offsetMs(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
