import { BatchWriteItemCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { leaseTableDefinition } from '../lambda/adapters/dynamodb-lease-store.js';
import { LEASE_TABLE_KEY } from '../lambda/contract/names.js';
import type { RefresherConfig } from '../lambda/contract/refresher-environment.js';
import { type EngineSettings, settingsWith } from '../lambda/contract/settings.js';
import type { RunSummary } from '../lambda/core/run-refresh.js';
import { createPorts, type RefresherPorts } from '../lambda/refresher/composition.js';
import { handleInvocation } from '../lambda/refresher/refresher.js';
import type { LocalClients } from './aws.js';

/** The event EventBridge sends on the schedule. */
export const SCHEDULED_EVENT = { 'detail-type': 'Scheduled Event', source: 'aws.events' };

/** A refresh-token key and a lease table in moto, as the stack creates them. */
export async function provisionRefresherResources(
  clients: LocalClients,
  name: string,
): Promise<{ keyId: string; tableName: string }> {
  const key = await clients.kms.send(new CreateKeyCommand({ Description: `bench ${name}` }));
  const keyId = key.KeyMetadata?.KeyId;
  if (!keyId) throw new Error('CreateKey returned no key id');
  const tableName = `bench-leases-${name}`;
  await clients.dynamodb.send(new CreateTableCommand(leaseTableDefinition(tableName)));
  return { keyId, tableName };
}

/**
 * Lease items as a released lease leaves them, each with its scheduling hint (provisioning
 * only, never timed; BatchWriteItem, 25 at a time).
 */
export async function seedHints(
  clients: LocalClients,
  tableName: string,
  hints: readonly { connection: string; hint: string }[],
): Promise<void> {
  for (let i = 0; i < hints.length; i += 25) {
    let pending = hints.slice(i, i + 25).map(({ connection, hint }) => ({
      PutRequest: {
        Item: {
          [LEASE_TABLE_KEY]: { S: connection },
          owner: { S: 'bench-seed' },
          leaseUntil: { N: '0' },
          outcome: { S: 'committed' },
          hint: { S: hint },
        },
      },
    }));
    while (pending.length > 0) {
      const result = await clients.dynamodb.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
      );
      pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
  }
}

/** The adapters the composition root builds, on the given (counted) clients. */
export function benchPorts(clients: LocalClients, keyId: string, tableName: string): RefresherPorts {
  const config = benchConfig('', { keyId, tableName });
  return createPorts(config, {
    secretsManager: clients.secretsManager,
    kms: clients.kms,
    dynamodb: clients.dynamodb,
  });
}

export function benchConfig(
  prefix: string,
  resources: { keyId: string; tableName: string },
  overrides: Partial<EngineSettings> = {},
): RefresherConfig {
  return {
    settings: settingsWith(prefix, overrides),
    leaseTableName: resources.tableName,
    refreshTokenKeyId: resources.keyId,
  };
}

export interface OutputStats {
  bytes: number;
  lines: number;
  errors: number;
}

/**
 * Runs `fn` with stdout and stderr swallowed (the refresher's JSON logs and EMF metrics
 * are written, as in Lambda, and counted, but not shown).
 */
export async function muted<T>(fn: () => Promise<T>): Promise<{ value: T; output: OutputStats }> {
  const output: OutputStats = { bytes: 0, lines: 0, errors: 0 };
  const originalOut = process.stdout.write;
  const originalErr = process.stderr.write;
  const swallow = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    output.bytes += Buffer.byteLength(text);
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) output.lines += 1;
    if (text.includes('"level":"ERROR"')) output.errors += 1;
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  process.stdout.write = swallow as typeof process.stdout.write;
  process.stderr.write = swallow as typeof process.stderr.write;
  try {
    return { value: await fn(), output };
  } finally {
    process.stdout.write = originalOut;
    process.stderr.write = originalErr;
  }
}

let invocations = 0;

/** One scheduled invocation of the real handler code, in-process, with (by default) a 15-minute budget. */
export async function invokeScheduledRun(
  ports: RefresherPorts,
  config: RefresherConfig,
  remainingMs = 15 * 60_000,
): Promise<{ ms: number; summary: RunSummary; output: OutputStats }> {
  invocations += 1;
  const requestId = `bench-${invocations}`;
  const started = performance.now();
  const { value, output } = await muted(() =>
    handleInvocation(ports, config, SCHEDULED_EVENT, {
      awsRequestId: requestId,
      getRemainingTimeInMillis: () => remainingMs - (performance.now() - started),
    }),
  );
  const ms = performance.now() - started;
  if (!('results' in value)) throw new Error('expected a run summary');
  return { ms, summary: value, output };
}
