import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import pLimit from 'p-limit';
import { KmsKeyService } from '../lambda/adapters/kms-key-service.js';
import { connectionSecretName } from '../lambda/contract/names.js';
import type { RefresherConfig } from '../lambda/contract/refresher-environment.js';
import { type ConnectionRecord, RECORD_SCHEMA_VERSION, refreshTokenContext } from '../lambda/core/record.js';
import type { RunSummary } from '../lambda/core/run-refresh.js';
import type { RefresherPorts } from '../lambda/refresher/refresher.js';
import type { AuthPeer } from './auth-peer.js';
import type { CallLog, LocalClients } from './aws.js';
import { cpuWindow } from './cpu.js';
import type { BenchMoto } from './moto.js';
import { benchConfig, benchPorts, invokeScheduledRun, provisionRefresherResources } from './refresher.js';

const CLIENTS_PREFIX = 'bench-clients/';

/** Each size has its own connections: `bench-due/n<N>/c-0000`... */
export function duePrefix(n: number): string {
  return `bench-due/n${n}/`;
}

export interface DueSetup {
  ports: RefresherPorts;
  resources: { keyId: string; tableName: string };
  provisionMs: number;
}

/**
 * Provisions, for each size, that many connected connections that are all due (no access
 * token yet), each with its own refresh token minted at the authorization server,
 * KMS-encrypted under the refresh-token key, and a current hint. Untimed.
 */
export async function provisionDue(
  moto: BenchMoto,
  clients: LocalClients,
  auth: AuthPeer,
  sizes: readonly number[],
): Promise<DueSetup> {
  const started = performance.now();
  const resources = await provisionRefresherResources(clients, 'due');
  const keys = new KmsKeyService(clients.kms, resources.keyId);
  for (const client of auth.clients) {
    await clients.secretsManager.send(
      new CreateSecretCommand({
        Name: CLIENTS_PREFIX + client.clientId,
        SecretString: JSON.stringify({
          client_id: client.clientId,
          client_secret: client.clientSecret,
          token_endpoint_origins: [new URL(auth.tokenEndpoint).origin],
        }),
      }),
    );
  }
  const names = sizes.flatMap((n) => Array.from({ length: n }, (_, i) => ({ prefix: duePrefix(n), i })));
  // Both registered clients (client_secret_post and client_secret_basic), alternately.
  const minted = await Promise.all(
    auth.clients.map((client) => auth.mint(client.clientId, Math.ceil(names.length / auth.clients.length))),
  );
  const limit = pLimit(4);
  const secrets = await Promise.all(
    names.map(({ prefix, i }, index) =>
      limit(async () => {
        const which = index % auth.clients.length;
        const client = auth.clients[which]!;
        const refreshToken = minted[which]![Math.floor(index / auth.clients.length)]!;
        const connection = `c-${String(i).padStart(4, '0')}`;
        const secretName = connectionSecretName(prefix, connection);
        const record: ConnectionRecord = {
          schemaVersion: RECORD_SCHEMA_VERSION,
          connection,
          provider: {
            tokenEndpoint: auth.tokenEndpoint,
            dialect: 'form',
            clientAuth: client.authMethod,
            clientCredentialsSecretId: CLIENTS_PREFIX + client.clientId,
          },
          status: 'active',
          refreshToken: await keys.encrypt(refreshToken, refreshTokenContext(secretName)),
          lastError: null,
        };
        const versionId = randomUUID();
        // No hint in the lease table: a connection never refreshed is read (and is due).
        return { name: secretName, value: JSON.stringify(record), versionId };
      }),
    ),
  );
  await moto.seedSecrets(secrets);
  return {
    ports: benchPorts(clients, resources.keyId, resources.tableName),
    resources,
    provisionMs: performance.now() - started,
  };
}

export interface DueRunResult {
  n: number;
  concurrency: number;
  /** PutSecretValue ceiling per second; Infinity when lifted. */
  ceiling: number;
  ms: number;
  refreshed: number;
  failed: number;
  refreshesPerSecond: number;
  calls: Record<string, number>;
  totalCalls: number;
  /** PutSecretValue per second over the whole run. */
  putsPerSecond: number;
  /** PutSecretValue per second from the first put to the last (the limiter's steady state). */
  putsPerSecondSteady: number;
  /** The invocation's time budget (connections it could not fit are skipped as `no_time`). */
  budgetMs: number;
  skipped: number;
  /** Failed refreshes by failure class. */
  failures: Record<string, number>;
  /** CPU of the refresher's process, moto and the auth server during the run; main-thread busy fraction. */
  cpu: { selfMs: number; motoMs: number; authMs: number; eventLoopUtilization: number };
  /** The machine's 1-minute load average at the end of the run (other work on it included). */
  loadAverage: number;
  logLines: number;
  logErrors: number;
}

export interface DueRunOptions {
  concurrency: number;
  writesPerSecond: number;
  /** The invocation's time budget; the engine starts no refresh it cannot finish within it. */
  budgetMs?: number;
}

/** "Ceiling lifted": a write ceiling no run here can reach. */
export const LIFTED = 1_000_000;

/**
 * One scheduled run over the first `n` connections, all due. The settings are the defaults
 * except `minIntervalMs: 0`, so that the connections refreshed by an earlier run (access
 * tokens that live 5 minutes, inside the 10-minute refresh window) are due again.
 */
export async function dueRun(
  setup: DueSetup,
  log: CallLog,
  moto: BenchMoto | readonly BenchMoto[],
  auth: AuthPeer,
  n: number,
  options: DueRunOptions,
): Promise<DueRunResult> {
  const config: RefresherConfig = benchConfig(duePrefix(n), setup.resources, {
    // The local authorization server: plain http on loopback, under the test-only switch.
    allowedTokenOrigins: [new URL(auth.tokenEndpoint).origin],
    allowInsecureLoopback: true,
    minIntervalMs: 0,
    concurrency: options.concurrency,
    writesPerSecond: options.writesPerSecond,
  });
  const authBefore = await auth.stats();
  log.reset();
  const stop = cpuWindow(Array.isArray(moto) ? moto.map((m: BenchMoto) => m.pid) : (moto as BenchMoto).pid);
  const budgetMs = options.budgetMs ?? 15 * 60_000;
  const { ms, summary, output } = await invokeScheduledRun(setup.ports, config, budgetMs);
  const cpu = stop();
  const authAfter = await auth.stats();
  const puts = log
    .ofOperation('PutSecretValue')
    .map((r) => r.start)
    .sort((a, b) => a - b);
  const steadyWindowMs = puts.length > 1 ? puts[puts.length - 1]! - puts[0]! : Number.NaN;
  if (authAfter.reused > 0) throw new Error(`the provider saw ${authAfter.reused} reused refresh tokens`);
  return {
    n,
    concurrency: options.concurrency,
    ceiling: options.writesPerSecond,
    ms,
    refreshed: summary.refreshed,
    failed: summary.failed,
    skipped: summary.skipped,
    failures: failureClasses(summary.results),
    budgetMs,
    loadAverage: loadavg()[0]!,
    refreshesPerSecond: summary.refreshed / (ms / 1000),
    calls: log.byOperation(),
    totalCalls: log.total(),
    putsPerSecond: puts.length / (ms / 1000),
    putsPerSecondSteady: (puts.length - 1) / (steadyWindowMs / 1000),
    cpu: { ...cpu, authMs: authAfter.cpuMs - authBefore.cpuMs },
    logLines: output.lines,
    logErrors: output.errors,
  };
}

function failureClasses(results: RunSummary['results']): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) {
    if (result.status === 'failed') counts[result.failureClass] = (counts[result.failureClass] ?? 0) + 1;
  }
  return counts;
}

export interface DueResult {
  provisionMs: number;
  connections: number;
  /** Delay added to every token response. */
  tokenDelayMs: number;
  runs: { label: string; result: DueRunResult }[];
}

/**
 * The due run at N = 1,000 against one moto per service (Secrets Manager, KMS and DynamoDB
 * each in its own process), at the default ceiling and at 40/s and 50/s: with the calls
 * spread over three Python processes, what is measured is the engine and the machine
 * rather than one serial moto. Each run reports the fraction of its ceiling reached and
 * the machine's load average.
 */
export async function runDueSpread(
  motos: { secretsManager: BenchMoto; kms: BenchMoto; dynamodb: BenchMoto },
  clients: LocalClients,
  log: CallLog,
  auth: AuthPeer,
  options: { tokenDelayMs: number; ceilings: readonly number[]; n: number },
  progress: (line: string) => void,
): Promise<DueResult> {
  const setup = await provisionDue(motos.secretsManager, clients, auth, [options.n]);
  progress(
    `provisioned ${options.n} due connections over three motos in ${Math.round(setup.provisionMs)} ms`,
  );
  await auth.injectFault({ kind: 'delay', ms: options.tokenDelayMs, count: 1_000_000_000 });
  const runs: DueResult['runs'] = [];
  const all = [motos.secretsManager, motos.kms, motos.dynamodb];
  for (const ceiling of options.ceilings) {
    const result = await dueRun(setup, log, all, auth, options.n, {
      concurrency: 8,
      writesPerSecond: ceiling,
    });
    runs.push({ label: `one moto per service, ceiling ${ceiling}/s`, result });
    progress(
      `due N=${options.n} spread, ceiling ${ceiling}/s: ${Math.round(result.ms)} ms, ${result.refreshed} refreshed, ` +
        `${result.refreshesPerSecond.toFixed(1)}/s, puts ${result.putsPerSecondSteady.toFixed(1)}/s, load ${result.loadAverage.toFixed(2)}`,
    );
  }
  await auth.clearFaults();
  return { provisionMs: setup.provisionMs, connections: options.n, tokenDelayMs: options.tokenDelayMs, runs };
}

/** Runs `fn` `times` times and keeps the run with the median wall time. */
async function medianRun(times: number, fn: () => Promise<DueRunResult>): Promise<DueRunResult> {
  const results: DueRunResult[] = [];
  for (let i = 0; i < times; i += 1) results.push(await fn());
  results.sort((a, b) => a.ms - b.ms);
  return results[Math.floor(results.length / 2)]!;
}

/**
 * The due runs: for N = 10, 100 and 1,000, concurrency 8 (the default) with the default
 * write ceiling, the same with concurrency 1, and with the ceiling lifted; then one run at a
 * ceiling the local peers can sustain, to show the limiter holding its rate. Without `full`,
 * the two slowest N = 1,000 runs get a Lambda-like time budget and are reported as rates.
 */
export async function runDue(
  moto: BenchMoto,
  clients: LocalClients,
  log: CallLog,
  auth: AuthPeer,
  options: { full: boolean; tokenDelayMs: number; boxedBudgetMs: number; checkCeiling: number },
  progress: (line: string) => void,
): Promise<DueResult> {
  const sizes = [10, 100, 1000];
  const setup = await provisionDue(moto, clients, auth, sizes);
  progress(
    `provisioned ${sizes.reduce((a, b) => a + b, 0)} due connections in ${Math.round(setup.provisionMs)} ms`,
  );
  await auth.injectFault({ kind: 'delay', ms: options.tokenDelayMs, count: 1_000_000_000 });
  const runs: DueResult['runs'] = [];
  const run = async (label: string, n: number, runOptions: DueRunOptions, repeat = 1) => {
    const result = await medianRun(repeat, () => dueRun(setup, log, moto, auth, n, runOptions));
    runs.push({ label, result });
    progress(
      `due N=${n} ${label}: ${Math.round(result.ms)} ms, ${result.refreshed} refreshed, ` +
        `${result.refreshesPerSecond.toFixed(1)}/s, puts ${result.putsPerSecond.toFixed(1)}/s`,
    );
  };
  const boxed = options.full ? undefined : options.boxedBudgetMs;
  for (const n of [10, 100]) {
    const repeat = n === 10 ? 3 : 1;
    await run('default', n, { concurrency: 8, writesPerSecond: 25 }, repeat);
    await run('concurrency 1', n, { concurrency: 1, writesPerSecond: 25 }, repeat);
    await run('ceiling lifted', n, { concurrency: 8, writesPerSecond: LIFTED }, repeat);
  }
  await run('default', 1000, { concurrency: 8, writesPerSecond: 25 });
  await run('ceiling lifted', 1000, { concurrency: 8, writesPerSecond: LIFTED, budgetMs: boxed });
  await run('concurrency 1', 1000, { concurrency: 1, writesPerSecond: 25, budgetMs: boxed });
  await run(`ceiling ${options.checkCeiling}/s`, 100, {
    concurrency: 8,
    writesPerSecond: options.checkCeiling,
  });
  await auth.clearFaults();
  return {
    provisionMs: setup.provisionMs,
    connections: sizes.reduce((a, b) => a + b, 0),
    tokenDelayMs: options.tokenDelayMs,
    runs,
  };
}
