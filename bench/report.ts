import type { AuthStats } from './auth-peer.js';
import { type BundleResult, type ColdStartResult, LAMBDA_BUNDLING_CLI } from './cold-start.js';
import { type ConsumerResult, POWERTOOLS_MAX_AGE_SECONDS } from './consumer.js';
import { type DueResult, type DueRunResult, LIFTED } from './due.js';
import type { IdleRow } from './idle.js';
import type { MachineInfo } from './machine.js';
import type { MotoCallCost } from './moto-baseline.js';
import { duration, kb, ms, num, percent, ratio, seconds, signed } from './stats.js';
import { markdownTable, type Table, textTable } from './table.js';

export interface BenchResults {
  machine: MachineInfo;
  full: boolean;
  command: string;
  totalMs?: number;
  cold?: ColdStartResult;
  motoBaseline?: MotoCallCost[];
  consumer?: ConsumerResult;
  idle?: IdleRow[];
  due?: DueResult;
  /** The N = 1,000 due runs against one moto per service, at 25, 40 and 50/s. */
  dueSpread?: DueResult;
  authStats?: AuthStats;
}

/**
 * A 1-minute load average above this share of the cores, beyond what the benchmark's own
 * processes kept busy, says the figures are contended by other work.
 */
const CONTENDED_LOAD_PER_CORE = 0.7;

function contended(results: BenchResults, loadAverage: number, ownCores = 0): boolean {
  return loadAverage - ownCores > CONTENDED_LOAD_PER_CORE * results.machine.cores;
}

/** The cores a due run's own processes (refresher, motos, auth server) kept busy on average. */
function ownCores(r: DueRunResult): number {
  return (r.cpu.selfMs + r.cpu.motoMs + r.cpu.authMs) / Math.max(1, r.ms);
}

/**
 * The cores a run's ceiling needs on this machine: the CPU that the refresher, the motos and
 * the auth server spent per refresh, times the ceiling's refreshes per second.
 */
function coresNeeded(r: DueRunResult): number {
  return ((r.cpu.selfMs + r.cpu.motoMs + r.cpu.authMs) / Math.max(1, r.refreshed)) * (r.ceiling / 1000);
}

/** The spread runs as target rows: the fraction of each ceiling, with the machine's load. */
function spreadTargetRows(results: BenchResults): string[][] {
  const spread = results.dueSpread;
  if (!spread) return [];
  return spread.runs.map(({ result: r }) => {
    const share = r.putsPerSecondSteady / r.ceiling;
    const busy = contended(results, r.loadAverage, ownCores(r));
    const needed = coresNeeded(r);
    const why = busy
      ? ': the machine was contended (load average, beyond the benchmark’s own processes, above 0.7 per core), §2'
      : needed > results.machine.cores
        ? `: the local peers and the engine would need ${num(needed)} cores at this ceiling; the machine has ${results.machine.cores} (§2)`
        : needed > 0.8 * results.machine.cores
          ? `: the local peers and the engine need ${num(needed)} of this machine's ${results.machine.cores} cores at this ceiling, and the machine was saturated (load average ${num(r.loadAverage)}), §2`
          : ': the local peers on this machine (§2)';
    return [
      '2',
      `Due run at N = ${num(r.n)}, one moto per service: ${num(r.ceiling)}/s ceiling held (≥ 90%)`,
      `${num(r.putsPerSecondSteady)} PutSecretValue/s (${num(r.refreshesPerSecond)} refreshes/s); load average ${num(r.loadAverage)} on ${results.machine.cores} cores, ${num(ownCores(r))} of it the benchmark’s own processes${busy ? ' — **contended**' : ''}`,
      `ceiling ${num(r.ceiling)}/s`,
      percent(share),
      `${verdict(share >= 0.9)}${share >= 0.9 ? '' : why}`,
    ];
  });
}

/** The cold-start figures the issue measured for the naive bundle. */
const ISSUE_NAIVE = { bytes: 556 * 1024, importMs: 88 };
const IDLE_TARGET_MS = 5_000;
const DEFAULT_CEILING = 25;

const MET = '**met**';
const MISSED = '**missed**';
const verdict = (ok: boolean) => (ok ? MET : MISSED);

/** Why each AWS call of a refresh is made (docs/refresh-transaction.md). */
const CALL_REASONS: Record<string, string> = {
  ListSecrets:
    'Discovery: one page names up to 100 connections and the AWSCURRENT version of each (`SecretVersionsToStages`).',
  Scan: 'The scheduling hints, one page per ~2,000 lease items (projected to key and hint): connections whose hint names AWSCURRENT and says not due cost nothing more.',
  UpdateItem:
    'The lease, three conditional writes: take it (one refresh per connection at a time, across invocations), mark the refresh token as being sent (after a crash the next run knows the token may be spent and never re-sends it blindly), release it with the outcome and the new scheduling hint (so the hint costs no call of its own).',
  GetSecretValue:
    'The record (AWSCURRENT), the source of truth: the hint only says a connection may be due. Plus one read per client-credentials secret per run (memoised: 2 secrets here, whatever N).',
  Decrypt: 'The stored refresh token, encrypted under its own KMS key that consumers cannot use.',
  Encrypt: 'The rotated refresh token, before it is stored.',
  PutSecretValue:
    'The commit: one new version holding the new access and refresh tokens together (the rate-limited write, and the only Secrets Manager write).',
};
const SM_WRITES = ['PutSecretValue', 'TagResource', 'CreateSecret', 'UntagResource'];
const CALLS_PER_REFRESH_TARGET = 7;
const COLD_TARGETS = { bytes: 1.05, importMs: 1.15, consumer: 1.0 };

const OPERATION_ORDER = Object.keys(CALL_REASONS);

function sortedOperations(calls: Record<string, number>): string[] {
  return Object.keys(calls).sort((a, b) => {
    const ia = OPERATION_ORDER.indexOf(a);
    const ib = OPERATION_ORDER.indexOf(b);
    return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib) || a.localeCompare(b);
  });
}

function callsText(calls: Record<string, number>, per = 1): string {
  return sortedOperations(calls)
    .map((op) => `${op} ${num(calls[op]! / per)}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------
// Derived figures

interface Derived {
  idle?: {
    rows: (IdleRow & { pages: number; hintPages: number; callsOk: boolean })[];
    callsOk: boolean;
    largest: IdleRow;
    fastEnough: boolean;
  };
  due?: {
    runs: DueResult['runs'];
    main: DueRunResult;
    lifted: DueRunResult;
    check: DueRunResult;
    puts: number;
    refreshed: number;
    oneWritePerRefresh: boolean;
    sustained: number;
    motoMsPerRefresh?: number;
    cpuMsPerRefresh: { self: number; moto: number; auth: number; total: number };
  };
  cold?: {
    sizeRatio: number;
    importRatio: number;
  };
}

function byLabel(due: DueResult, n: number, label: string): DueRunResult | undefined {
  return due.runs.find((r) => r.result.n === n && r.label === label)?.result;
}

function derive(results: BenchResults): Derived {
  const derived: Derived = {};
  if (results.idle) {
    const rows = results.idle.map((row) => {
      const pages = Math.ceil(row.n / 100);
      return {
        ...row,
        pages,
        hintPages: row.calls.Scan ?? 0,
        callsOk:
          row.calls.ListSecrets === pages &&
          (row.calls.Scan ?? 0) >= 1 &&
          row.totalCalls === pages + (row.calls.Scan ?? 0) &&
          row.read === 0,
      };
    });
    const largest = rows.reduce((a, b) => (b.n > a.n ? b : a));
    derived.idle = {
      rows,
      callsOk: rows.every((r) => r.callsOk),
      largest,
      fastEnough: largest.wallMs < IDLE_TARGET_MS,
    };
  }
  if (results.due) {
    const due = results.due;
    const main = byLabel(due, 1000, 'default');
    const lifted = byLabel(due, 1000, 'ceiling lifted');
    const check = due.runs.find(
      (r) => r.label.startsWith('ceiling ') && r.label !== 'ceiling lifted',
    )?.result;
    if (main && lifted && check) {
      const puts = due.runs.reduce((a, r) => a + (r.result.calls.PutSecretValue ?? 0), 0);
      const refreshed = due.runs.reduce((a, r) => a + r.result.refreshed, 0);
      const oneWritePerRefresh = due.runs.every(
        (r) => (r.result.calls.PutSecretValue ?? 0) === r.result.refreshed,
      );
      const costs = new Map((results.motoBaseline ?? []).map((c) => [c.operation, c.motoCpuMs]));
      let motoMsPerRefresh: number | undefined = 0;
      for (const [op, count] of Object.entries(main.calls)) {
        const cost = costs.get(op);
        if (cost === undefined) {
          if (op !== 'ListSecrets' && op !== 'Scan') motoMsPerRefresh = undefined;
          continue;
        }
        if (motoMsPerRefresh !== undefined) motoMsPerRefresh += (cost * count) / main.refreshed;
      }
      const per = (value: number) => value / main.refreshed;
      derived.due = {
        runs: due.runs,
        main,
        lifted,
        check,
        puts,
        refreshed,
        oneWritePerRefresh,
        sustained: main.putsPerSecondSteady / main.ceiling,
        motoMsPerRefresh,
        cpuMsPerRefresh: {
          self: per(main.cpu.selfMs),
          moto: per(main.cpu.motoMs),
          auth: per(main.cpu.authMs),
          total: per(main.cpu.selfMs + main.cpu.motoMs + main.cpu.authMs),
        },
      };
    }
  }
  if (results.cold) {
    derived.cold = {
      sizeRatio: results.cold.refresher.bytes / results.cold.naive.bytes,
      importRatio: results.cold.refresher.importMs / results.cold.naive.importMs,
    };
  }
  return derived;
}

// ---------------------------------------------------------------------------------------
// Tables

function targetsTable(results: BenchResults, d: Derived): Table {
  const rows: string[][] = [];
  if (d.idle) {
    const sizes = d.idle.rows.map((r) => num(r.n)).join(' / ');
    rows.push([
      '1',
      'Idle run: N/100 list calls plus the hint store’s pages, 0 secret reads',
      `${d.idle.rows.map((r) => `${num(r.pages)} + ${num(r.hintPages)}`).join(' / ')} calls (ListSecrets + Scan) at N = ${sizes}, ${d.idle.rows.map((r) => r.read).join(' / ')} secrets read`,
      `${sizes} GetSecretValue for a refresher that reads every secret (computed)`,
      `calls ÷ (N/100) = ${d.idle.rows.map((r) => num(r.totalCalls / r.pages)).join(' / ')}`,
      verdict(d.idle.callsOk),
    ]);
    const l = d.idle.largest;
    rows.push([
      '1',
      `Idle run: ${num(l.n)} connections in under 5 s`,
      `${seconds(l.wallMs)} (the engine's own time: ${seconds(l.engineMs)})`,
      `the same ListSecrets pages alone: ${seconds(l.listOnlyMs)}`,
      ratio(l.wallMs, l.listOnlyMs),
      `${verdict(d.idle.fastEnough)}${d.idle.fastEnough ? '' : ": moto's listing alone takes longer (§1)"}`,
    ]);
  }
  if (d.due) {
    const { main, check } = d.due;
    rows.push([
      '2',
      'Due run: Secrets Manager writes rate-limited; configurable ceiling, default below the 50/s quota',
      `default ${DEFAULT_CEILING}/s (\`writesPerSecond\`); at a ${num(check.ceiling)}/s ceiling: ${num(check.putsPerSecondSteady)} PutSecretValue/s`,
      `ceiling ${num(check.ceiling)}/s`,
      percent(check.putsPerSecondSteady / check.ceiling),
      verdict(DEFAULT_CEILING < 50 && check.putsPerSecondSteady / check.ceiling >= 0.9),
    ]);
    rows.push([
      '2',
      'Due run: at N = 1,000, at least 90% of the ceiling',
      `${num(main.putsPerSecondSteady)} PutSecretValue/s (${num(main.refreshesPerSecond)} refreshes/s)`,
      `ceiling ${num(main.ceiling)}/s`,
      percent(d.due.sustained),
      `${verdict(d.due.sustained >= 0.9)}${d.due.sustained >= 0.9 ? '' : ': the local peers cannot serve 25 refreshes/s on this machine (§2)'}`,
    ]);
    const perRefresh = (ops: string[]) =>
      ops.reduce((a, op) => a + (main.calls[op] ?? 0), 0) / Math.max(1, main.refreshed);
    const smWrites = perRefresh(SM_WRITES);
    const totalPerRefresh = perRefresh(Object.keys(main.calls));
    // Discovery (ListSecrets, the hint Scan) is paid once per run, not per refresh.
    const ownPerRefresh = totalPerRefresh - perRefresh(['ListSecrets', 'Scan']);
    rows.push([
      '2',
      `AWS calls per refresh (N = 1,000): Secrets Manager writes exactly 1 (no TagResource), total ≤ ${CALLS_PER_REFRESH_TARGET}`,
      `${num(smWrites)} Secrets Manager write(s); ${num(ownPerRefresh)} calls per refresh, plus ${num(totalPerRefresh - ownPerRefresh)} of the run's discovery (${callsText(main.calls, main.refreshed)})`,
      'issue 14: 2 writes (PutSecretValue + TagResource), 8.01 calls',
      `${ratio(totalPerRefresh, 8.01)} of 8.01`,
      `${verdict(smWrites === 1 && ownPerRefresh <= CALLS_PER_REFRESH_TARGET + 0.005)}${ownPerRefresh <= CALLS_PER_REFRESH_TARGET + 0.005 ? ` (the refresh's own calls; ${num(totalPerRefresh)} with the run's listing and hint pages spread over its refreshes)` : ''}`,
    ]);
    rows.push([
      '2',
      'Due run: exactly one PutSecretValue per refresh',
      `${num(d.due.puts)} PutSecretValue for ${num(d.due.refreshed)} refreshes, in every run`,
      '1 per refresh',
      ratio(d.due.puts, d.due.refreshed),
      verdict(d.due.oneWritePerRefresh),
    ]);
  }
  rows.push(...spreadTargetRows(results));
  if (results.consumer) {
    const [token, powertools, raw] = results.consumer.rows;
    if (token && powertools && raw) {
      rows.push([
        '3',
        'Consumer: warm getAccessToken() (no target; for comparison)',
        `${num(token.warmOpsPerSecond)} reads/s`,
        `Powertools getSecret ${num(powertools.warmOpsPerSecond)}/s; raw GetSecretValue ${num(raw.warmOpsPerSecond)}/s`,
        `${ratio(token.warmOpsPerSecond, powertools.warmOpsPerSecond)} / ${ratio(token.warmOpsPerSecond, raw.warmOpsPerSecond)}`,
        '–',
      ]);
    }
  }
  if (results.cold && d.cold) {
    const { refresher, naive, naiveSingle } = results.cold;
    rows.push([
      '4',
      `Refresher bundle: ≤ ${COLD_TARGETS.bytes}× the naive three-client bundle (what a cold start loads)`,
      `${kb(refresher.bytes)} loaded at import (${kb(refresher.totalBytes)} in all its chunks)`,
      `naive ${kb(naive.bytes)}, bundled the same way; ${kb(naiveSingle.bytes)} as one file (issue: ${kb(ISSUE_NAIVE.bytes)})`,
      `${ratio(refresher.bytes, naive.bytes)} (${ratio(refresher.bytes, naiveSingle.bytes)} of the one-file naive)`,
      `${verdict(d.cold.sizeRatio <= COLD_TARGETS.bytes)}${d.cold.sizeRatio <= COLD_TARGETS.bytes ? '' : `: what the idle path itself needs is larger than ${kb(naive.bytes * COLD_TARGETS.bytes)} (§4)`}`,
    ]);
    rows.push([
      '4',
      `Refresher cold import: ≤ ${COLD_TARGETS.importMs}× the naive bundle’s`,
      `${ms(refresher.importMs)} above bare node`,
      `naive ${ms(naive.importMs)} bundled the same way; ${ms(naiveSingle.importMs)} as one file (issue: ~${ms(ISSUE_NAIVE.importMs)})`,
      `${ratio(refresher.importMs, naive.importMs)} (${ratio(refresher.importMs, naiveSingle.importMs)} of the one-file naive)`,
      `${verdict(d.cold.importRatio <= COLD_TARGETS.importMs)}${d.cold.importRatio <= COLD_TARGETS.importMs ? '' : ': see §4'}`,
    ]);
    const client = results.cold.consumer.client;
    const powertools = results.cold.consumer.powertools;
    if (client && powertools) {
      const consumerRatio = client.importMs / powertools.importMs;
      rows.push([
        '3',
        `Consumer module cold import: ≤ ${COLD_TARGETS.consumer}× Powertools getSecret’s`,
        `${ms(client.importMs)} above bare node`,
        `Powertools getSecret ${ms(powertools.importMs)}`,
        ratio(client.importMs, powertools.importMs),
        `${verdict(consumerRatio <= COLD_TARGETS.consumer)}${consumerRatio <= COLD_TARGETS.consumer ? '' : `: in one file the lazily loaded Lambda client's bytes are still parsed; without them ${ratio(results.cold.consumerVariants.withoutLambda.importMs, powertools.importMs)}, code-split ${ratio(results.cold.consumerVariants.split.importMs, powertools.importMs)} (§3)`}`,
      ]);
    }
  }
  return { head: ['§', 'Target', 'Measured', 'Baseline (same run)', 'Ratio', 'Verdict'], rows };
}

function idleTable(d: NonNullable<Derived['idle']>): Table {
  return {
    head: [
      'N',
      'Runs',
      'Wall (median)',
      'Baseline: ListSecrets alone',
      'Ratio',
      "Engine's own time",
      'AWS calls by operation',
      'Calls ÷ (N/100)',
      'Secrets read',
      'Refresher CPU',
      'Log/EMF lines',
    ],
    right: [0, 1, 2, 3, 4, 5, 7, 8, 9, 10],
    rows: d.rows.map((r) => [
      num(r.n),
      String(r.runs),
      ms(r.wallMs),
      ms(r.listOnlyMs),
      ratio(r.wallMs, r.listOnlyMs),
      ms(r.engineMs),
      callsText(r.calls),
      num(r.totalCalls / r.pages),
      String(r.read),
      ms(r.engineCpuMs),
      num(r.outputLines),
    ]),
  };
}

function ceilingText(ceiling: number): string {
  return ceiling >= LIFTED ? 'lifted' : `${num(ceiling)}/s`;
}

function dueTable(due: DueResult): Table {
  return {
    head: [
      'N',
      'Run',
      'Concurrency',
      'Write ceiling',
      'Wall',
      'Refreshed',
      'Refreshes/s',
      '÷ concurrency 1',
      'PutSecretValue/s (steady)',
      '÷ ceiling',
      'AWS calls / refresh',
      'CPU ms / refresh: refresher · moto · auth server',
      'Load avg',
    ],
    right: [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12],
    rows: due.runs.map(({ label, result: r }) => {
      const single = byLabel(due, r.n, 'concurrency 1');
      const failed = Object.entries(r.failures)
        .map(([cls, count]) => `${count} ${cls}`)
        .join(', ');
      const boxed =
        r.budgetMs < 15 * 60_000 ? ` (${num(r.budgetMs / 1000)}-s budget, ${num(r.skipped)} left)` : '';
      return [
        num(r.n),
        label,
        String(r.concurrency),
        ceilingText(r.ceiling),
        ms(r.ms),
        `${num(r.refreshed)}${failed ? ` (+${failed})` : ''}${boxed}`,
        num(r.refreshesPerSecond),
        label === 'concurrency 1'
          ? '1×'
          : !single || (r.ceiling !== single.ceiling && r.ceiling < LIFTED)
            ? '–'
            : ratio(r.refreshesPerSecond, single.refreshesPerSecond),
        `${num(r.putsPerSecond)} (${num(r.putsPerSecondSteady)})`,
        r.ceiling >= LIFTED ? '–' : percent(r.putsPerSecondSteady / r.ceiling),
        num(r.totalCalls / Math.max(1, r.refreshed)),
        [r.cpu.selfMs, r.cpu.motoMs, r.cpu.authMs].map((v) => num(v / Math.max(1, r.refreshed))).join(' · '),
        num(r.loadAverage),
      ];
    }),
  };
}

function callsPerRefreshTable(main: DueRunResult): Table {
  return {
    head: ['Operation', 'Calls', 'Per refresh', 'Why'],
    right: [1, 2],
    rows: [
      ...sortedOperations(main.calls).map((op) => [
        op,
        num(main.calls[op]!),
        num(main.calls[op]! / main.refreshed),
        CALL_REASONS[op] ?? '',
      ]),
      ['**Total**', num(main.totalCalls), num(main.totalCalls / main.refreshed), ''],
    ],
  };
}

function motoTable(costs: MotoCallCost[]): Table {
  return {
    head: [
      'Operation',
      'Wall per call (median, one at a time)',
      'moto CPU per call',
      'Client (SDK) CPU per call',
    ],
    right: [1, 2, 3],
    rows: costs.map((c) => [c.operation, ms(c.wallMs), ms(c.motoCpuMs), ms(c.clientCpuMs)]),
  };
}

function consumerTable(consumer: ConsumerResult, cold?: ColdStartResult): Table {
  const [token] = consumer.rows;
  const bundles: Record<string, BundleResult | undefined> = {
    'token-client': cold?.consumer.client,
    powertools: cold?.consumer.powertools,
    raw: cold?.consumer.raw,
  };
  const tokenBundle = bundles['token-client'];
  return {
    head: [
      'Read',
      'Warm reads/s (median)',
      'getAccessToken ÷ this',
      'AWS calls per warm read',
      'Cold first read (median)',
      'getAccessToken ÷ this',
      'Module cold import (above bare node)',
      'getAccessToken ÷ this',
      'Bundle',
    ],
    right: [1, 2, 3, 4, 5, 6, 7, 8],
    rows: consumer.rows.map((row) => {
      const bundle = bundles[row.id];
      return [
        row.label,
        num(row.warmOpsPerSecond),
        token ? ratio(token.warmOpsPerSecond, row.warmOpsPerSecond) : '–',
        num(row.warmCallsPerOp),
        ms(row.coldMs),
        token ? ratio(token.coldMs, row.coldMs) : '–',
        bundle ? ms(bundle.importMs) : '–',
        bundle && tokenBundle ? ratio(tokenBundle.importMs, bundle.importMs) : '–',
        bundle ? kb(bundle.bytes) : '–',
      ];
    }),
  };
}

function coldTable(cold: ColdStartResult): Table {
  const { naive } = cold;
  const row = (b: BundleResult, baseline: boolean) => [
    `${b.label} (\`${b.entry}\`)`,
    kb(b.bytes),
    baseline ? '1×' : ratio(b.bytes, naive.bytes),
    b.layout === 'split' ? kb(b.totalBytes) : '(one file)',
    ms(b.importMs),
    baseline ? '1×' : ratio(b.importMs, naive.importMs),
    b.importMsWithSourceMaps === undefined ? '–' : ms(b.importMsWithSourceMaps),
    kb(b.mapBytes),
  ];
  const load = (r: ColdStartResult['idleRun']) => [
    `then ${r.label}`,
    kb(r.bytes),
    ratio(r.bytes, naive.bytes),
    '–',
    ms(r.importMs),
    ratio(r.importMs, naive.importMs),
    '–',
    '–',
  ];
  return {
    head: [
      'Bundle',
      'Loaded at cold import (minified)',
      '÷ naive',
      'All chunks',
      'Cold import above bare node (median)',
      '÷ naive',
      'With --enable-source-maps (deployed)',
      'Source maps (not counted)',
    ],
    right: [1, 2, 3, 4, 5, 6, 7],
    rows: [
      row(cold.refresher, false),
      load(cold.idleRun),
      load(cold.dueRun),
      row(naive, true),
      row(cold.refresherSingle, false),
      row(cold.naiveSingle, false),
    ],
  };
}

function contributorsTable(cold: ColdStartResult): Table {
  const total = cold.refresher.bytes;
  const all = (name: string) => cold.refresherAllContributors.find((c) => c.name === name)?.bytes ?? 0;
  const names = [
    ...new Set([...cold.refresherContributors, ...cold.refresherAllContributors].map((c) => c.name)),
  ]
    .map((name) => ({ name, bytes: all(name) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 14);
  return {
    head: ['Contributor', 'Loaded at cold import', 'Share', 'In all chunks', 'Naive, at cold import'],
    right: [1, 2, 3, 4],
    rows: names.map(({ name, bytes }) => {
      const loaded = cold.refresherContributors.find((c) => c.name === name)?.bytes ?? 0;
      const naive = cold.naiveContributors.find((n) => n.name === name);
      return [
        name,
        loaded > 0 ? kb(loaded) : '–',
        loaded > 0 ? percent(loaded / total) : '–',
        kb(bytes),
        naive && naive.bytes >= 1024 ? kb(naive.bytes) : '–',
      ];
    }),
  };
}

function whatIfTable(cold: ColdStartResult): Table {
  const { refresher, naive } = cold;
  const short = (name: string) => name.replace('@aws-sdk/', '');
  const rows = cold.whatIfs.map((w) => [
    `refresher: ${w.label}`,
    w.stubs.length ? w.stubs.map(short).join(', ') : `${w.external.join(', ')} (external)`,
    kb(w.bytes),
    signed(w.bytes - refresher.bytes, kb),
    ratio(w.bytes, naive.bytes),
    ms(w.importMs),
    signed(w.importMs - refresher.importMs, ms),
    ratio(w.importMs, naive.importMs),
  ]);
  return {
    head: ['What if', 'Stubbed out', 'Loaded at import', 'Δ', '÷ naive', 'Import', 'Δ import', '÷ naive'],
    right: [2, 3, 4, 5, 6, 7],
    rows,
  };
}

// ---------------------------------------------------------------------------------------
// Markdown

function machineLines(results: BenchResults): string[] {
  const m = results.machine;
  const versions = Object.entries(m.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  return [
    `- **Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}.`,
    `- **Date:** ${m.date.replace('T', ' ').slice(0, 16)} UTC; commit \`${m.commit}\`${m.dirty ? ' (with uncommitted changes in the work tree)' : ''}.`,
    `- **Load:** 1-minute load average ${num(m.loadAverageStart)} at the start, ${num(m.loadAverageEnd ?? Number.NaN)} at the end, on ${m.cores} cores: the machine is shared and noisy, so compare the ratios and medians, not single times.`,
    `- **Versions:** ${versions}.`,
    `- **Duration:** ${results.totalMs === undefined ? '–' : duration(results.totalMs)} for \`${results.command}\`${results.full ? '' : ' (without `--full`)'}.`,
  ];
}

function idleNotes(d: NonNullable<Derived['idle']>): string[] {
  const first = d.rows[0]!;
  const l = d.largest;
  const perPage = (r: IdleRow) => r.listOnlyMs / Math.ceil(r.n / 100);
  const lines = [
    `Every connection carries a current scheduling hint and a token valid for another 50 minutes (outside the 10-minute refresh window), so nothing is due. A run is one scheduled invocation of the real handler code (\`handleInvocation\`, in-process) with the default settings; the baseline is the bare pagination of the same secrets (\`ListSecrets\`, 100 per page, the same name filter), the floor any run pays. "Engine's own time" is the wall time minus the time spent waiting for \`ListSecrets\` and hint \`Scan\` answers (pages are fetched one after another); each N is its own deployment (prefix and lease table), its hints in lease items as releases leave them.`,
    '',
    `- **Calls:** ${d.rows.map((r) => `${num(r.totalCalls)} at N = ${num(r.n)}`).join(', ')}: one \`ListSecrets\` page per 100 connections plus the lease table's hint pages (\`Scan\`: ${d.rows.map((r) => num(r.hintPages)).join(' / ')}), and nothing else: no secret read. A refresher without hints would read every secret: N \`GetSecretValue\` calls per run.`,
    `- **Time:** the run costs ${ratio(l.wallMs, l.listOnlyMs)} the bare listing at N = ${num(l.n)} (${ratio(first.wallMs, first.listOnlyMs)} at N = ${num(first.n)}, where fixed costs such as the EMF flush weigh more). The engine's own time is ${ms(l.engineMs)} for ${num(l.n)} connections (${num((l.engineMs / l.n) * 1000)} µs each), including the ${num(l.outputLines)} log and EMF lines it writes (one \`connection state\` line per connection: no metric per connection).`,
  ];
  if (!d.fastEnough) {
    lines.push(
      `- **Why ${num(l.n)} idle connections take more than 5 s here:** moto's listing alone takes ${seconds(l.listOnlyMs)}. moto 5's \`ListSecrets\` serialises every secret that matches the filter for every page it returns, then slices one page out, so a page costs O(N) and a full listing O(N²): ${ms(perPage(first))} per page at N = ${num(first.n)}, ${ms(perPage(l))} per page at N = ${num(l.n)}. Secrets Manager's pages do not grow with N. The engine already makes the minimum number of calls, and its own part (${seconds(l.engineMs)}) is well under 5 s. What would close it: nothing in the engine; against Secrets Manager the run costs 100 page round trips plus ${seconds(l.engineMs)}; locally, a moto whose \`list_secrets\` paginated before serialising.`,
    );
  }
  return lines;
}

function dueNotes(results: BenchResults, d: NonNullable<Derived['due']>, due: DueResult): string[] {
  const { main, lifted, check, cpuMsPerRefresh: cpu } = d;
  const cores = results.machine.cores;
  const engineCap = 1000 / cpu.self;
  const single1000 = byLabel(due, 1000, 'concurrency 1');
  const callsPerRefresh = main.totalCalls / main.refreshed;
  const perRefresh = (op: string) => (main.calls[op] ?? 0) / main.refreshed;
  const neededCalls = DEFAULT_CEILING * callsPerRefresh;
  const callsPerSecond = main.totalCalls / (main.ms / 1000);
  const motoCpuPerCall = main.cpu.motoMs / main.totalCalls;
  const baselineMotoPerCall =
    d.motoMsPerRefresh === undefined ? undefined : d.motoMsPerRefresh / callsPerRefresh;
  const baseline = results.motoBaseline ?? [];
  const clientCpuPerCall = baseline.length
    ? baseline.reduce((a, c) => a + c.clientCpuMs, 0) / baseline.length
    : undefined;
  const lines = [
    `Every connection is connected at the authorization server (its own refresh token, minted there, KMS-encrypted under the refresh-token key) and due. The authorization server is the tests' oidc-provider fixture (rotating single-use refresh tokens, reuse detection) in its own process, with ${due.tokenDelayMs} ms added to every token response. Runs use the default settings except \`minIntervalMs: 0\`, so that a connection refreshed by an earlier run (its access tokens live 5 minutes, inside the 10-minute refresh window) is due again; each N has its own N connections (${num(due.connections)} in all, ${seconds(due.provisionMs)} to provision, untimed). "Steady" PutSecretValue/s is measured from the first write to the last, i.e. after the limiter's initial burst of ${DEFAULT_CEILING / 5}; at N = 10 the burst dominates it. CPU is per refresh: the refresher's process, moto's process, and the auth server's process. N = 10 rows are the median of 3 runs; N = 100 and 1,000 rows are single runs, each a rate over 100 to 1,000 refreshes.`,
    '',
    `- **Correctness:** ${num(d.refreshed)} refreshes, ${results.authStats ? `${num(results.authStats.presented)} refresh tokens presented to the provider, ${num(results.authStats.reused)} reused` : 'no provider statistics'}; ${d.oneWritePerRefresh ? 'exactly one `PutSecretValue` per refresh in every run' : '**not** one `PutSecretValue` per refresh in every run'}.`,
    `- **Concurrency:** the default concurrency (8) refreshes ${ratio(main.refreshesPerSecond, single1000?.refreshesPerSecond ?? Number.NaN)} as fast as concurrency 1 at N = 1,000 (${num(main.refreshesPerSecond)} vs ${num(single1000?.refreshesPerSecond ?? Number.NaN)} refreshes/s). With concurrency 1, a refresh is a chain of 7 moto calls and the ${due.tokenDelayMs}-ms token request; with 8 in flight, moto serving one request at a time is the bottleneck.`,
    `- **The limiter holds its ceiling when the peers keep up:** at a ${num(check.ceiling)}/s ceiling (N = ${num(check.n)}), ${num(check.putsPerSecondSteady)} PutSecretValue/s, ${percent(check.putsPerSecondSteady / check.ceiling)} of it.`,
    `- **At N = 1,000 with the default ceiling:** ${num(main.putsPerSecondSteady)} PutSecretValue/s, ${percent(d.sustained)} of ${DEFAULT_CEILING}/s. The ceiling-lifted run is no faster (${num(lifted.refreshesPerSecond)} refreshes/s${lifted.budgetMs < 15 * 60_000 ? `, measured over a ${num(lifted.budgetMs / 1000)}-s invocation budget` : ''}), so the limiter is not what binds here: the local peers are.`,
  ];
  if (d.sustained < 0.9) {
    lines.push(
      `- **Why it is missed, with numbers:** moto serves one request at a time. A refresh makes ${num(callsPerRefresh)} AWS calls, so ${DEFAULT_CEILING} refreshes/s need ${num(neededCalls)} calls/s, one every ${ms(1000 / neededCalls)}. In the N = 1,000 run moto answered ${num(callsPerSecond)} calls/s (one every ${ms(1000 / callsPerSecond)}) and spent ${ms(motoCpuPerCall)} of CPU on each${baselineMotoPerCall === undefined ? '' : ` (${ms(baselineMotoPerCall)} one at a time on a quiet moto, table below)`}; for the rest of each cycle it is not computing (a serial server also waits for each new connection to be accepted and its request read). At ${ms(motoCpuPerCall)} per call, ${num(neededCalls)} calls/s would need ${num((neededCalls * motoCpuPerCall) / 1000)} cores of moto, and one Python process gets at most one. Together the three local processes used ${ms(cpu.total)} of CPU per refresh (refresher ${ms(cpu.self)}, moto ${ms(cpu.moto)}, auth server ${ms(cpu.auth)}): ${DEFAULT_CEILING} refreshes/s would take ${num((DEFAULT_CEILING * cpu.total) / 1000)} of this machine's ${cores} cores, before its other work (load average ${num(main.loadAverage)} at the end of that run).`,
      `- **The engine's own limit:** the refresher's process used ${ms(cpu.self)} of CPU per refresh (its event loop was busy ${percent(main.cpu.eventLoopUtilization)} of the run): one core would carry about ${num(engineCap)} refreshes/s, ${percent(engineCap / DEFAULT_CEILING)} of the ceiling.${clientCpuPerCall === undefined ? '' : ` That is about what ${num(callsPerRefresh)} AWS SDK calls cost on the client side (${ms(clientCpuPerCall)} each in the baseline, ${ms(clientCpuPerCall * callsPerRefresh)} per refresh).`}`,
      `- **What would close it:** peers that serve ${num(neededCalls)} calls/s. Secrets Manager, KMS and DynamoDB do (the engine then holds the ceiling it is given, as the ${num(check.ceiling)}/s run shows). Locally: one moto per service (per refresh, Secrets Manager gets ${num(perRefresh('GetSecretValue') + perRefresh('PutSecretValue'))} calls, DynamoDB ${num(perRefresh('UpdateItem'))}, KMS ${num(perRefresh('Encrypt') + perRefresh('Decrypt'))}: at most ${num(DEFAULT_CEILING * 3)} calls/s each at the ceiling) on a machine with at least 4 cores. moto's per-request overhead is its largest cost: profiled with cProfile, a large part of a moto 5 call went to finding the service backend for the request's host (\`moto.backends.list_of_moto_modules\` lists and stats moto's ~200 service folders on every request, about 1.1 ms); the tests' and benchmarks' servers now list them once (\`sandbox/moto_serial_server.py\`).`,
    );
  }
  if (!results.full) {
    lines.push(
      `- **Budgeted runs:** without \`--full\`, the N = 1,000 runs with concurrency 1 and with the ceiling lifted get a ${num((single1000?.budgetMs ?? 30_000) / 1000)}-s invocation budget, as a Lambda timeout would: the engine starts no refresh it cannot finish (it keeps 10 s for the token request and the commit) and leaves the rest due for the next run. Their refreshes/s are rates over the refreshes made; a refresh that passed the start check just before the cut-off can end as a \`no_time\` failure (shown in the Refreshed column): taking the lease, reading and decrypting took it below the reserve before its token request, so nothing was sent. \`npm run bench -- --full\` runs them over all 1,000 connections (2 to 3 more minutes).`,
    );
  }
  return lines;
}

function consumerNotes(consumer: ConsumerResult, cold?: ColdStartResult): string[] {
  const [token, powertools, raw] = consumer.rows;
  if (!token || !powertools || !raw) return [];
  const lambdaClient = cold?.clientContributors.find((c) => c.name === '@aws-sdk/client-lambda');
  return [
    `One connection whose record holds a JWT-sized access token valid for an hour. Warm: reads in a loop on one client, ${num(consumer.warmOpsPerBatch)} reads per batch (${num(consumer.rawOpsPerBatch)} for the raw read), median of ${consumer.batches} interleaved batches. Cold: the first read in a fresh client (a new \`TokenClient\`, a new Powertools default provider, a new \`SecretsManagerClient\`, as in a new Lambda container, module already loaded), median of ${consumer.coldRuns}, interleaved. Powertools \`getSecret\` is given \`maxAge: ${POWERTOOLS_MAX_AGE_SECONDS}\` (its default is 5 s); \`getAccessToken()\` caches a token until 60 s before it expires. Module cold import: each bundled like the Lambda (ESM, minified, platform node) and imported by a fresh \`node\`, median of ${cold?.runs ?? '–'} paired runs against bare node.`,
    '',
    `- **Warm:** \`getAccessToken()\` is a map lookup and an expiry check: ${ratio(token.warmOpsPerSecond, powertools.warmOpsPerSecond)} Powertools' cached \`getSecret\` and ${ratio(token.warmOpsPerSecond, raw.warmOpsPerSecond)} a raw \`GetSecretValue\`, which costs a Secrets Manager call every time (${ms(1000 / raw.warmOpsPerSecond)} against moto here).`,
    `- **Cold:** all three make one \`GetSecretValue\`, so the first read costs the same within noise (${ms(token.coldMs)}, ${ms(powertools.coldMs)}, ${ms(raw.coldMs)}).`,
    cold
      ? `- **Import:** the client module imports in ${ms(cold.consumer.client.importMs)} (${ratio(cold.consumer.client.importMs, cold.consumer.powertools.importMs)} Powertools', ${ratio(cold.consumer.client.importMs, cold.consumer.raw.importMs)} the raw client's). Its bundle is larger (${kb(cold.consumer.client.bytes)}) because, bundled into one file, it includes the Lambda client${lambdaClient ? ` (${kb(lambdaClient.bytes)})` : ''} that asks the refresher for a refresh after a 401: it is imported dynamically and not evaluated until then (a lazy initializer), but a single-file bundle still carries its bytes, which every cold start parses. Measured in the same rounds: the same one-file bundle with the Lambda client stubbed out imports in ${ms(cold.consumerVariants.withoutLambda.importMs)} (${ratio(cold.consumerVariants.withoutLambda.importMs, cold.consumer.powertools.importMs)} Powertools'), and the client bundled with code splitting (\`--splitting\`, as the refresher is) loads ${kb(cold.consumerVariants.split.bytes)} at import and imports in ${ms(cold.consumerVariants.split.importMs)} (${ratio(cold.consumerVariants.split.importMs, cold.consumer.powertools.importMs)} Powertools'): the Lambda client then stays in its own chunk until a 401.`
      : '',
  ].filter((line, i) => i < 2 || line !== '');
}

function coldNotes(cold: ColdStartResult, d: NonNullable<Derived['cold']>, node: string): string[] {
  const { refresher, naive, refresherSingle, naiveSingle, idleRun, dueRun } = cold;
  const whatIf = (id: string) => cold.whatIfs.find((w) => w.id === id);
  const loaded = (test: (name: string) => boolean, list = cold.refresherContributors) =>
    list.filter((c) => test(c.name)).reduce((a, c) => a + c.bytes, 0);
  const sdkShared = loaded((name) => name.startsWith('@smithy') || name.startsWith('@aws-sdk/* shared'));
  const naiveShared = loaded(
    (name) => name.startsWith('@smithy') || name.startsWith('@aws-sdk/* shared'),
    cold.naiveContributors,
  );
  const clients = loaded((name) => name.startsWith('@aws-sdk/client-'));
  const naiveClients = loaded((name) => name.startsWith('@aws-sdk/client-'), cold.naiveContributors);
  const own = loaded((name) => name === 'token-refresher code');
  const ownAll = loaded((name) => name === 'token-refresher code', cold.refresherAllContributors);
  const zod = loaded((name) => name.startsWith('zod'));
  const powertools = loaded((name) => name.startsWith('Powertools'), cold.refresherAllContributors);
  const engine = whatIf('engine-only');
  const external = whatIf('sdk-external');
  const lines = [
    `Every bundle is built with the refresher's deployed options (\`REFRESHER_ESBUILD_OPTIONS\`, lib/handler-code.ts: \`${LAMBDA_BUNDLING_CLI}\`), code-split: an entry file \`index.mjs\` and chunks that a dynamic \`import()\` loads on first use. "Loaded at cold import" is the entry file and the chunks it imports statically, i.e. what a fresh \`node\` reads, parses and evaluates, without source maps. Cold import: a fresh \`node\` imports the entry (the refresher with the environment \`decodeRefresherEnvironment\` needs; its module scope reads the configuration and builds the clients, as in Lambda), minus bare \`node -e ''\` (${ms(cold.bareMs)}) in the same round, median of ${cold.runs} rounds. The naive baseline (\`bench/entries/naive-sdk.ts\`) imports the Secrets Manager, KMS and CloudWatch clients and constructs one of each, bundled the same way (${kb(naive.bytes)}, ${ms(naive.importMs)}) and, as the issue measured it, as one file (${kb(naiveSingle.bytes)}, ${ms(naiveSingle.importMs)} here; the issue's figures were ${kb(ISSUE_NAIVE.bytes)} and ~${ms(ISSUE_NAIVE.importMs)}). The targets' ratios use the naive bundle built the same way. Node here is ${node}, not Lambda's 24.`,
    '',
    `- **Verdict:** a cold start loads ${kb(refresher.bytes)} of the refresher, ${ratio(refresher.bytes, naive.bytes)} the naive bundle's ${kb(naive.bytes)} (${ratio(refresher.bytes, naiveSingle.bytes)} of the naive one-file bundle), and imports in ${ratio(refresher.importMs, naive.importMs)} its time (${ratio(refresher.importMs, naiveSingle.importMs)} of the one-file naive's); the targets are ${COLD_TARGETS.bytes}× and ${COLD_TARGETS.importMs}×: ${d.sizeRatio <= COLD_TARGETS.bytes ? 'size met' : 'size missed'}, ${d.importRatio <= COLD_TARGETS.importMs ? 'import met' : 'import missed'}. As one file the refresher would be ${kb(refresherSingle.bytes)} and ${ms(refresherSingle.importMs)}.`,
    `- **What a cold start no longer loads:** the refresh path (\`lambda/core/refresh-connection.ts\` and what only it imports: records, the write protocol, classification, client credentials), the HTTP token endpoint, and the KMS and DynamoDB clients are each reached through a dynamic \`import()\` (\`lambda/refresher/composition.ts\`, \`lambda/core/run-refresh.ts\`, \`lambda/refresher/refresher.ts\`) and live in chunks of their own; so do the SDK's credential providers other than the environment's (Lambda's credentials are in its environment). \`test/cdk/bundle.test.ts\` fails if any of them is reachable from the entry file's static imports. The refresher's own code is ${kb(own)} of what a cold start loads (${kb(ownAll)} in all).${zod > 0 ? ` Validation (zod) is ${kb(zod)} of it.` : ''}${powertools > 0 ? ` Powertools is still bundled (${kb(powertools)}).` : " Logs and metrics are written by the engine's own small JSON and EMF writers (no Powertools)."}`,
    `- **Idle and due runs:** an idle run loads the cold start, then the hints' DynamoDB client: ${kb(idleRun.bytes)} in all, ${ms(idleRun.importMs)} above bare node (${signed(idleRun.bytes - refresher.bytes, kb)} and ${signed(idleRun.importMs - refresher.importMs, ms)} after the cold import). The scheduling hints live in the lease table (issue 14: no TagResource, and no tag anyone can forge), so an idle run does load the DynamoDB client, once per container; it never loads KMS, HTTP or record code. A run with a due connection then loads the refresh path: ${kb(dueRun.bytes)} and ${ms(dueRun.importMs)} in all.`,
    `- **Where the bytes are** (at cold import): the AWS SDK's shared runtime (\`@smithy/*\` and shared \`@aws-sdk/*\`) is ${kb(sdkShared)} (naive: ${kb(naiveShared)}), paid once by any SDK v3 client; the Secrets Manager client itself ${kb(clients)} (naive, three clients: ${kb(naiveClients)}).`,
  ];
  if (engine && external) {
    lines.push(
      `- **Below this needs no AWS SDK v3 client:** the engine with every SDK client stubbed out loads ${kb(engine.bytes)} and imports in ${ms(engine.importMs)}; the SDK runtime is the rest. Leaving the SDK out of the bundle to use the Lambda runtime's copy is not a fix: ${kb(external.bytes)} bundled, but the import takes ${ms(external.importMs)} (${ratio(external.importMs, refresher.importMs)} the bundled refresher), loading the SDK's many unbundled files.`,
    );
  }
  if (refresher.importMsWithSourceMaps !== undefined && naive.importMsWithSourceMaps !== undefined) {
    lines.push(
      `- **Source maps:** the function runs with \`NODE_OPTIONS=--enable-source-maps\` and ${kb(refresher.mapBytes)} of maps (each chunk has its own): ${ms(refresher.importMsWithSourceMaps)} with it vs ${ms(refresher.importMs)} without (${signed(refresher.importMsWithSourceMaps - refresher.importMs, ms)}; naive, ${kb(naive.mapBytes)} of maps: ${ms(naive.importMsWithSourceMaps)} vs ${ms(naive.importMs)}).`,
    );
  }
  return lines;
}

export function renderMarkdown(results: BenchResults): string {
  const d = derive(results);
  const out: string[] = [
    '# Benchmarks',
    '',
    'What keeping many tokens fresh costs the refresher, and what a token read costs a consumer, measured against real local peers, each next to a baseline measured in the same run. Written by `npm run bench` (`bench/`): regenerate it rather than editing it.',
    '',
    ...machineLines(results),
    '',
    '## Commands',
    '',
    '```sh',
    'npm ci',
    'npm run bench               # node --no-warnings --import tsx bench/index.ts',
    'npm run bench -- --full     # also runs the budgeted N = 1,000 due runs over all 1,000 connections',
    '```',
    '',
    "Like `npm test`, it needs Python 3 with `moto[server]`. It starts its own peers on loopback ports: moto through `bench/moto_bench_server.py` (the sandbox's serial launcher, one request at a time, plus a route that seeds many secrets at once for provisioning, never timed) and the sandbox's oidc-provider authorization server (`sandbox/auth-server.ts`) in a child process. AWS calls are counted by operation with SDK middleware on the clients the adapters use: real calls to moto, nothing mocked. Other options: `--only cold,consumer,idle,due`, `--json <file>` (save the raw results), `--from-json <file>` (render them again).",
    '',
    '## Targets',
    '',
    markdownTable(targetsTable(results, d)),
    '',
  ];
  if (d.idle) {
    out.push(
      '## 1. Idle run (nothing due), against moto',
      '',
      markdownTable(idleTable(d.idle)),
      '',
      ...idleNotes(d.idle),
      '',
    );
  }
  if (results.due && d.due) {
    out.push(
      '## 2. Due run (every connection due), against moto and the authorization server',
      '',
      markdownTable(dueTable(results.due)),
      '',
      ...dueNotes(results, d.due, results.due),
      '',
      `### AWS calls per refresh (N = 1,000, default settings)`,
      '',
      markdownTable(callsPerRefreshTable(d.due.main)),
      '',
    );
  }
  if (results.dueSpread) {
    const spread = results.dueSpread;
    out.push(
      '### One moto per service: N = 1,000 at 25, 40 and 50/s',
      '',
      markdownTable(dueTable(spread)),
      '',
      `Secrets Manager, KMS and DynamoDB each served by its own moto process (\`bench/moto_bench_server.py\`, one request at a time each), so that one Python process no longer serves every call of a refresh; the same authorization server (${num(spread.tokenDelayMs)} ms added per token response), concurrency 8, ${num(spread.connections)} connections due in each run. CPU "moto" is the three processes together.`,
      '',
      ...spread.runs.map(({ result: r }) => {
        const busy = contended(results, r.loadAverage, ownCores(r));
        const cpu = (r.cpu.selfMs + r.cpu.motoMs + r.cpu.authMs) / Math.max(1, r.refreshed);
        return `- **${num(r.ceiling)}/s:** ${num(r.putsPerSecondSteady)} PutSecretValue/s steady, ${percent(r.putsPerSecondSteady / r.ceiling)} of the ceiling; load average ${num(r.loadAverage)} on ${results.machine.cores} cores, of which the benchmark's own processes kept ${num(ownCores(r))} busy. The three local peers and the engine spent ${ms(cpu)} of CPU per refresh (engine ${ms(r.cpu.selfMs / Math.max(1, r.refreshed))}), so ${num(r.ceiling)} refreshes/s need ${num(coresNeeded(r))} cores${coresNeeded(r) > results.machine.cores ? `, more than this machine's ${results.machine.cores}: the ceiling cannot be reached here whatever the engine does` : ''}.${busy ? ` **Warning: contended** (beyond its own processes, above ${CONTENDED_LOAD_PER_CORE} per core): other work on this machine shares its cores, so this figure understates what the engine holds.` : ''}`;
      }),
      '',
    );
  }
  if (results.motoBaseline) {
    out.push(
      "### Baseline: moto's own cost per call",
      '',
      "Each operation of a refresh, 50 calls one at a time with payloads like the refresher's. moto serves one request at a time, so its CPU per call is its service time.",
      '',
      markdownTable(motoTable(results.motoBaseline)),
      '',
    );
  }
  if (results.consumer) {
    out.push(
      '## 3. Consumer reads',
      '',
      markdownTable(consumerTable(results.consumer, results.cold)),
      '',
      ...consumerNotes(results.consumer, results.cold),
      '',
    );
  }
  if (results.cold && d.cold) {
    out.push(
      '## 4. Refresher cold start',
      '',
      markdownTable(coldTable(results.cold)),
      '',
      ...coldNotes(results.cold, d.cold, results.machine.node),
      '',
      '### Top contributors to the refresher bundle (esbuild metafile)',
      '',
      'What a cold start loads by contributor, and what every chunk of the bundle holds.',
      '',
      markdownTable(contributorsTable(results.cold)),
      '',
      '### What-if bundles',
      '',
      'The refresher bundled the same way with modules replaced by empty stand-ins (or left external), to size what remains below it.',
      '',
      markdownTable(whatIfTable(results.cold)),
      '',
    );
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export function renderConsole(results: BenchResults): string {
  const d = derive(results);
  const parts = ['', 'token-refresher benchmarks', '', textTable(targetsTable(results, d))];
  if (d.idle) parts.push('', '1. Idle run', textTable(idleTable(d.idle)));
  if (results.due) parts.push('', '2. Due run', textTable(dueTable(results.due)));
  if (d.due)
    parts.push(
      '',
      '   AWS calls per refresh (N = 1,000)',
      textTable({
        ...callsPerRefreshTable(d.due.main),
        head: ['Operation', 'Calls', 'Per refresh', ''],
        rows: callsPerRefreshTable(d.due.main).rows.map((r) => r.slice(0, 3).concat([''])),
      }),
    );
  if (results.motoBaseline)
    parts.push('', "   moto's own cost per call", textTable(motoTable(results.motoBaseline)));
  if (results.consumer)
    parts.push('', '3. Consumer reads', textTable(consumerTable(results.consumer, results.cold)));
  if (results.cold) {
    parts.push('', '4. Refresher cold start', textTable(coldTable(results.cold)));
    parts.push('', '   What-if bundles', textTable(whatIfTable(results.cold)));
  }
  return parts.join('\n');
}
