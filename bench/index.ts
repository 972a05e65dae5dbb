/**
 * `npm run bench [-- --full] [-- --only idle,due,...] [-- --json <file>] [-- --from-json <file>]`
 *
 * Measures what keeping many tokens fresh costs the refresher, and what a token read costs
 * a consumer, against real local peers (moto for Secrets Manager, KMS and DynamoDB; the
 * tests' oidc-provider authorization server), each next to a baseline measured in the same
 * run. Prints a summary table and writes BENCHMARKS.md (see bench/report.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { AuthPeer } from './auth-peer.js';
import { CallLog, localClients, useLocalAws } from './aws.js';
import { REPO_ROOT, runColdStart } from './cold-start.js';
import { runConsumer } from './consumer.js';
import { runDue, runDueSpread } from './due.js';
import { runIdle } from './idle.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { startBenchMoto } from './moto.js';
import { runMotoBaseline } from './moto-baseline.js';
import { type BenchResults, renderConsole, renderMarkdown } from './report.js';

const SECTIONS = ['cold', 'consumer', 'idle', 'due'] as const;

/**
 * Paired rounds of cold imports. The refresher and the naive bundle differ by a few ms, and
 * one spawn of node varies by ±10 ms here: 15 rounds let the verdict flip between runs.
 */
const COLD_IMPORT_ROUNDS = 41;
type Section = (typeof SECTIONS)[number];

interface Options {
  full: boolean;
  only: Set<Section>;
  json?: string;
  fromJson?: string;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { full: false, only: new Set(SECTIONS), out: join(REPO_ROOT, 'BENCHMARKS.md') };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--full') options.full = true;
    else if (arg === '--only') {
      const wanted = value().split(',');
      for (const section of wanted) {
        if (!SECTIONS.includes(section as Section)) throw new Error(`unknown section ${section}`);
      }
      options.only = new Set(wanted as Section[]);
    } else if (arg === '--json') options.json = value();
    else if (arg === '--from-json') options.fromJson = value();
    else if (arg === '--out') options.out = value();
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function measure(options: Options, machine: MachineInfo): Promise<BenchResults> {
  const started = performance.now();
  const results: BenchResults = { machine, full: options.full, command: commandLine(options) };

  // Cold starts first, on a machine without our peers running.
  if (options.only.has('cold')) {
    progress('cold start: bundling and timing imports');
    // Inside the repository, so that a bundle with external packages finds node_modules.
    const cache = join(REPO_ROOT, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, 'token-refresher-bench-'));
    try {
      results.cold = await runColdStart(dir, COLD_IMPORT_ROUNDS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const needsPeers = options.only.has('consumer') || options.only.has('idle') || options.only.has('due');
  if (needsPeers) {
    progress('starting moto and the authorization server');
    const moto = await startBenchMoto();
    const auth = options.only.has('due') ? await AuthPeer.start({ accessTokenTtlSeconds: 300 }) : undefined;
    try {
      useLocalAws(moto.endpoint);
      const log = new CallLog();
      const clients = localClients(moto.endpoint, log);
      progress('moto baseline: cost per call');
      results.motoBaseline = await runMotoBaseline(moto, clients, 50);
      if (options.only.has('consumer')) {
        progress('consumer reads');
        results.consumer = await runConsumer(moto, clients, log, {
          batches: 7,
          warmOps: 100_000,
          rawOps: 100,
          coldRuns: 31,
        });
      }
      if (options.only.has('idle')) {
        progress('idle runs: seeding 11,100 connections');
        results.idle = await runIdle(moto, clients, log, [
          { n: 100, runs: 5 },
          { n: 1_000, runs: 5 },
          { n: 10_000, runs: 3 },
        ]);
        await moto.reset();
      }
      if (options.only.has('due') && auth) {
        progress('due runs: provisioning');
        results.due = await runDue(
          moto,
          clients,
          log,
          auth,
          { full: options.full, tokenDelayMs: 50, boxedBudgetMs: 30_000, checkCeiling: 5 },
          progress,
        );
        progress('due runs: one moto per service');
        await moto.reset();
        const motos = {
          secretsManager: await startBenchMoto(),
          kms: await startBenchMoto(),
          dynamodb: await startBenchMoto(),
        };
        try {
          const spreadClients = localClients(
            {
              secretsManager: motos.secretsManager.endpoint,
              kms: motos.kms.endpoint,
              dynamodb: motos.dynamodb.endpoint,
            },
            log,
          );
          results.dueSpread = await runDueSpread(
            motos,
            spreadClients,
            log,
            auth,
            { tokenDelayMs: 50, ceilings: [25, 40, 50], n: 1000 },
            progress,
          );
        } finally {
          await Promise.all(Object.values(motos).map((m) => m.stop()));
        }
        const stats = await auth.stats();
        results.authStats = stats;
      }
    } finally {
      await auth?.stop();
      await moto.stop();
    }
  }
  results.totalMs = performance.now() - started;
  results.machine.loadAverageEnd = loadavg()[0];
  return results;
}

function commandLine(options: Options): string {
  const args = [
    options.full ? '--full' : '',
    options.only.size < SECTIONS.length ? `--only ${[...options.only]}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return args ? `npm run bench -- ${args}` : 'npm run bench';
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const results: BenchResults = options.fromJson
    ? (JSON.parse(readFileSync(options.fromJson, 'utf8')) as BenchResults)
    : await measure(options, machineInfo());
  if (options.json) writeFileSync(options.json, JSON.stringify(results, null, 2));
  process.stdout.write(`${renderConsole(results)}\n`);
  const complete = SECTIONS.every((section) =>
    section === 'cold' ? results.cold : section === 'consumer' ? results.consumer : results[section],
  );
  if (complete || options.fromJson) {
    writeFileSync(options.out, renderMarkdown(results));
    progress(`wrote ${options.out}`);
  } else {
    progress('some sections were skipped: BENCHMARKS.md not written');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
