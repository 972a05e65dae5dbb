import { randomUUID } from 'node:crypto';
import { ListSecretsCommand, type ListSecretsCommandOutput } from '@aws-sdk/client-secrets-manager';
import { encodeHint } from '../lambda/core/hint.js';
import { type ConnectionRecord, RECORD_SCHEMA_VERSION } from '../lambda/core/record.js';
import type { CallLog, LocalClients } from './aws.js';
import { cpuWindow } from './cpu.js';
import type { BenchMoto } from './moto.js';
import {
  benchConfig,
  benchPorts,
  invokeScheduledRun,
  provisionRefresherResources,
  seedHints,
} from './refresher.js';
import { median } from './stats.js';

export function idlePrefix(n: number): string {
  return `bench-idle/n${n}/`;
}

/**
 * Connections whose access token is valid for another 50 minutes (outside the 10-minute
 * refresh window), refreshed a minute ago, each with a current hint in its lease item (as
 * the last release left it): nothing is due.
 */
async function seedIdle(moto: BenchMoto, clients: LocalClients, tableName: string, n: number): Promise<void> {
  const now = Date.now();
  const secrets = Array.from({ length: n }, (_, i) => {
    const connection = `c-${String(i).padStart(5, '0')}`;
    const record: ConnectionRecord = {
      schemaVersion: RECORD_SCHEMA_VERSION,
      connection,
      provider: {
        tokenEndpoint: 'https://auth.example.com/oauth/token',
        dialect: 'form',
        clientAuth: 'client_secret_basic',
        clientCredentialsSecretId: 'bench-clients/idle',
      },
      status: 'active',
      accessToken: `eyJ${'a'.repeat(900)}`,
      tokenType: 'Bearer',
      expiresAt: new Date(now + 50 * 60_000).toISOString(),
      refreshToken: { ciphertext: Buffer.alloc(300, 7).toString('base64'), keyId: 'bench-key' },
      refreshedAt: new Date(now - 60_000).toISOString(),
      tokenLifetimeSeconds: 3600,
      lastError: null,
    };
    const versionId = randomUUID();
    return {
      name: idlePrefix(n) + connection,
      value: JSON.stringify(record),
      versionId,
      hint: { connection, hint: encodeHint(versionId, record) },
    };
  });
  await moto.seedSecrets(secrets.map(({ hint: _hint, ...secret }) => secret));
  await seedHints(
    clients,
    tableName,
    secrets.map(({ hint }) => hint),
  );
}

export interface IdleRow {
  n: number;
  runs: number;
  /** Median wall time of a scheduled run (handler in-process, nothing due). */
  wallMs: number;
  /** Median wall time of the baseline: the same ListSecrets pages, fetched alone. */
  listOnlyMs: number;
  /** Median of (wall − time waiting on ListSecrets and the hint Scan): the engine's own time. */
  engineMs: number;
  /** AWS calls by operation in one run. */
  calls: Record<string, number>;
  totalCalls: number;
  /** Secrets read (GetSecretValue) in one run: 0 when the hints work. */
  read: number;
  /** Median CPU ms of the refresher's process in a run. */
  engineCpuMs: number;
  /** Log and EMF lines a run writes. */
  outputLines: number;
}

async function listOnly(clients: LocalClients, prefix: string): Promise<number> {
  const started = performance.now();
  let nextToken: string | undefined;
  do {
    const page: ListSecretsCommandOutput = await clients.secretsManager.send(
      new ListSecretsCommand({
        MaxResults: 100,
        NextToken: nextToken,
        Filters: [{ Key: 'name', Values: [prefix] }],
      }),
    );
    nextToken = page.NextToken;
  } while (nextToken);
  return performance.now() - started;
}

/**
 * Idle runs over N connections, nothing due, each next to the bare listing of the same
 * secrets (the floor any run pays), interleaved.
 */
export async function runIdle(
  moto: BenchMoto,
  clients: LocalClients,
  log: CallLog,
  sizes: readonly { n: number; runs: number }[],
): Promise<IdleRow[]> {
  // One deployment (prefix and lease table) per N: a run scans only its own hints.
  const deployments = new Map<number, { keyId: string; tableName: string }>();
  for (const { n } of sizes) {
    const resources = await provisionRefresherResources(clients, `idle-${n}`);
    deployments.set(n, resources);
    await seedIdle(moto, clients, resources.tableName, n);
  }
  const rows: IdleRow[] = [];
  for (const { n, runs } of sizes) {
    const resources = deployments.get(n)!;
    const ports = benchPorts(clients, resources.keyId, resources.tableName);
    const config = benchConfig(idlePrefix(n), resources);
    const walls: number[] = [];
    const lists: number[] = [];
    const engines: number[] = [];
    const cpus: number[] = [];
    let calls: Record<string, number> = {};
    let totalCalls = 0;
    let read = 0;
    let outputLines = 0;
    for (let run = 0; run < runs; run += 1) {
      log.reset();
      const stop = cpuWindow(moto.pid);
      const { ms, summary, output } = await invokeScheduledRun(ports, config);
      cpus.push(stop().selfMs);
      if (summary.scanned !== n || summary.skipped !== n) {
        throw new Error(`idle run over ${n}: scanned ${summary.scanned}, skipped ${summary.skipped}`);
      }
      walls.push(ms);
      engines.push(ms - log.latencyMs('ListSecrets') - log.latencyMs('Scan'));
      calls = log.byOperation();
      totalCalls = log.total();
      read = summary.read;
      outputLines = output.lines;
      lists.push(await listOnly(clients, idlePrefix(n)));
    }
    rows.push({
      n,
      runs,
      wallMs: median(walls),
      listOnlyMs: median(lists),
      engineMs: median(engines),
      calls,
      totalCalls,
      read,
      engineCpuMs: median(cpus),
      outputLines,
    });
  }
  return rows;
}
