/**
 * `npm run demo -- [--duration <seconds>]`: the whole system on this machine, no AWS
 * account needed. It starts moto_server (local AWS, through the sandbox's serial launcher)
 * and an OAuth 2.0 authorization server (oidc-provider: rotating refresh tokens, reuse
 * detection, ~60 s access tokens) on loopback ports it picks; creates what the stack
 * would create; connects a demo connection through the operator CLI's real authorization
 * code flow (approved by a headless browser); runs the refresher on a short schedule and
 * a consumer that calls a protected API through the client library. It shows a live
 * status table, stops on Ctrl-C or after --duration, stops every process it started, and
 * prints a summary. Exit code 0 only when the summary is healthy.
 *
 * The servers come from sandbox/ (the same peers the integration tests use).
 */
import { Command, InvalidArgumentError } from 'commander';
import logUpdate from 'log-update';
import ora from 'ora';
import { Deployment } from '../cli/deployment.js';
import { newTable } from '../cli/format.js';
import { main as cli } from '../cli/index.js';
import { LocalInvoker } from '../cli/invoker.js';
import { TokenClient } from '../lambda/client/token-client.js';
import { MetricName } from '../lambda/contract/metric-names.js';
import type { OnDemandResponse } from '../lambda/contract/on-demand.js';
import type { Metrics } from '../lambda/core/ports.js';
import type { RunSummary } from '../lambda/core/run-refresh.js';
import type { AuthServer } from '../sandbox/auth-server.js';
import { headlessAuthorize } from '../sandbox/headless-browser.js';
import { type MotoServer, startMotoServer } from '../sandbox/moto-server.js';
import type { ProtectedResource } from '../sandbox/protected-resource.js';
import { provisionDemoStack } from './provision.js';

export interface DemoOptions {
  /** Seconds; run until Ctrl-C when absent. */
  duration?: number;
  /** Seconds between scheduled refresher runs. */
  schedule: number;
  /** Access-token lifetime at the authorization server, seconds. */
  tokenTtl: number;
  /** The refresher's refresh window, seconds. */
  refreshWindow: number;
  /** The refresher's minimum interval, seconds. */
  minInterval: number;
  /** The refresher's version floor, seconds (the deployed 15 minutes would outlast the demo's tokens). */
  versionFloor?: number;
  /** Milliseconds between consumer requests. */
  consumerInterval: number;
  /** Plain progress lines instead of a live table (the default when not on a terminal). */
  plain?: boolean;
}

export interface DemoSummary {
  seconds: number;
  /** Refreshes the provider granted (refresh tokens it accepted), whoever asked: the demo's refresher, its consumer, an operator's CLI. */
  refreshes: number;
  scheduledRefreshes: number;
  onDemandRefreshes: number;
  /** Refreshes the demo did not make itself: an operator's CLI in another shell (`refresh`, `enable`, `connect`). */
  otherRefreshes: number;
  /** Refresh requests the provider refused (or that met an injected fault). */
  refusedByProvider: number;
  refresherRuns: number;
  failuresByClass: Record<string, number>;
  refreshTokensPresented: number;
  reusesDetected: number;
  consumerRequests: number;
  consumerOk: number;
  consumerFailed: number;
  consumerErrors: Record<string, number>;
  unauthorized: number;
  connectionStatus: string;
  processesLeft: string[];
  healthy: boolean;
  /** `healthy`, `unhealthy`, or `too_short`: no problem, but too short to see one refresh per token lifetime. */
  verdict: 'healthy' | 'unhealthy' | 'too_short';
  problems: string[];
}

/** The shell lines that point the operator CLI at a running demo (its moto and stack). */
export function cliLines(endpoint: string, issuer: string): string[] {
  return [
    `export AWS_ENDPOINT_URL=${endpoint} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo`,
    `npx token-refresher --stack ${STACK} status`,
    `npx token-refresher --stack ${STACK} refresh ${CONNECTION} --force`,
    // A second connection, at the demo's authorization server (it approves any browser that asks).
    `npx token-refresher --stack ${STACK} connect another --issuer ${issuer} --client-id ${CLIENT_ID} ` +
      `--client-credentials-secret token-refresher-clients/${CONNECTION} --allow-insecure-localhost --no-browser`,
  ];
}

/** What the provider saw: the refresh tokens it accepted and the requests it refused. */
function providerCounts(auth: AuthServer | undefined): { accepted: number; refused: number; reuses: number } {
  const presented = auth?.presentedRefreshTokens() ?? [];
  const accepted = presented.filter((p) => p.forwarded && p.status === 200).length;
  return {
    accepted,
    refused: presented.length - accepted,
    reuses: auth?.reusedRefreshTokens().filter((r) => r.replayedAfterConsumption).length ?? 0,
  };
}

const CONNECTION = 'demo';
const STACK = 'TokenRefresherDemo';
const CLIENT_ID = 'demo-client';

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export async function runDemo(
  options: DemoOptions,
  out: Output = process.stdout,
  signals: NodeJS.EventEmitter = process,
): Promise<DemoSummary> {
  const live = Boolean(out.isTTY) && !options.plain && !process.env.CI;
  const step = async <T>(text: string, work: () => Promise<T>): Promise<T> => {
    const spinner = live ? ora({ text, stream: out as NodeJS.WritableStream }).start() : undefined;
    try {
      const result = await work();
      if (spinner) spinner.succeed();
      else out.write(`✔ ${text}\n`);
      return result;
    } catch (error) {
      if (spinner) spinner.fail();
      else out.write(`✖ ${text}\n`);
      throw error;
    }
  };

  let moto: MotoServer | undefined;
  let auth: AuthServer | undefined;
  let api: ProtectedResource | undefined;
  const killMoto = () => {
    if (moto?.pid) {
      try {
        process.kill(moto.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.once('exit', killMoto);

  // The demo never touches a real account: local endpoint, dummy credentials.
  for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_PROFILE']) delete process.env[key];
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'demo';
  process.env.AWS_SECRET_ACCESS_KEY = 'demo';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  const started = Date.now();
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts > 1) {
      killMoto();
      process.exit(130);
    }
    stop();
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);

  const metrics = countingMetrics();
  const tally = {
    runs: 0,
    scheduledRefreshes: 0,
    onDemandRefreshes: 0,
    consumerRequests: 0,
    consumerOk: 0,
    consumerFailed: 0,
    consumerErrors: {} as Record<string, number>,
    lastEvent: '',
  };
  const logs: string[] = [];
  let failure: unknown;
  let connectedAt: number | undefined;
  try {
    moto = await step('Starting moto_server (local AWS)', () => startMotoServer({ detached: true }));
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    auth = await step(
      `Starting the OAuth 2.0 authorization server (access tokens live ${options.tokenTtl} s)`,
      () => startQuietAuthServer(options.tokenTtl),
    );
    const client = auth.client('client_secret_basic');
    api = await step('Starting the protected API', async () => {
      const { startProtectedResource } = await import('../sandbox/protected-resource.js');
      return startProtectedResource(auth!);
    });
    // Every guard scaled to the demo's seconds-long tokens: the window, the minimum interval,
    // the version floor (the deployed 15 minutes would keep an expired demo token expired),
    // and the failure backoff. The stack outputs them, so the CLI in another shell guards alike.
    const tuned = {
      refreshWindowMs: options.refreshWindow * 1000,
      minIntervalMs: options.minInterval * 1000,
      versionFloorMs: (options.versionFloor ?? options.minInterval) * 1000,
      failureBackoffBaseMs: options.minInterval * 1000,
      failureBackoffCapMs: 4 * options.minInterval * 1000,
      requestTimeoutMs: 5_000,
    };
    const settings = { ...tuned, commitReserveMs: 3_000 };
    const stack = await step(
      'Creating what the stack would create (keys, lease table, client credentials)',
      () =>
        provisionDemoStack({
          stackName: STACK,
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          tokenEndpointOrigin: new URL(auth!.issuer).origin,
          settings: tuned,
        }),
    );
    const log = (line: string) => {
      logs.push(line);
      if (logs.length > 500) logs.shift();
    };
    await step(
      `Connecting "${CONNECTION}" through the authorization code flow (token-refresher connect)`,
      async () => {
        let text = '';
        const sink = { write: (chunk: string) => (text += chunk), isTTY: false };
        const code = await cli(
          [
            '--stack',
            STACK,
            '--local',
            'connect',
            CONNECTION,
            '--issuer',
            auth!.issuer,
            '--client-id',
            client.clientId,
            '--client-auth',
            client.authMethod,
            '--scope',
            'openid offline_access api:read',
            '--allow-insecure-localhost',
          ],
          {
            io: {
              stdout: sink,
              stderr: sink,
              openBrowser: async (url) => {
                await headlessAuthorize(url);
              },
            },
            local: { settings, metrics, log },
          },
        );
        if (code !== 0) throw new Error(`token-refresher connect failed: ${text.trim().split('\n').at(-1)}`);
      },
    );
    connectedAt = Date.now();
    out.write(
      [
        '',
        'Point the operator CLI at this demo from a second shell (while it runs):',
        ...cliLines(moto.endpoint, auth.issuer).map((line) => `  ${line}`),
        '',
        ...(live ? [] : [LEGEND, '']),
        '',
      ].join('\n'),
    );

    const invoker = await LocalInvoker.fromDeployment(new Deployment({ stack: STACK, local: true }), {
      settings,
      metrics,
      log,
    });
    const tokens = new TokenClient({
      prefix: stack.connectionPrefix,
      skewSeconds: options.refreshWindow / 2,
      maxWaitSeconds: 10,
      requester: {
        requestRefresh: async (connection, ifVersion) => {
          const response = (await invoker.invoke({
            action: 'refresh',
            connection,
            ifVersion,
          })) as OnDemandResponse;
          if (response.outcome === 'refreshed') tally.onDemandRefreshes += 1;
          return response;
        },
      },
    });
    const apiFetch = tokens.fetch(CONNECTION);

    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        if (stopping.signal.aborted) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          stopping.signal.removeEventListener('abort', done);
          resolve();
        }
        stopping.signal.addEventListener('abort', done);
      });

    const schedule = (async () => {
      while (!stopping.signal.aborted) {
        let summary: RunSummary;
        try {
          summary = (await invoker.invoke({
            'detail-type': 'Scheduled Event',
            source: 'demo',
          })) as RunSummary;
        } catch (error) {
          // The engine returns results rather than throwing; this would be a bug or a dead peer.
          metrics.add(MetricName.RefreshFailed, 'Count', 1, { FailureClass: 'internal' });
          tally.lastEvent = `run failed (${(error as Error).name}) at ${elapsed(started)} s`;
          await sleep(options.schedule * 1000);
          continue;
        }
        tally.runs += 1;
        tally.scheduledRefreshes += summary.refreshed + summary.restored;
        for (const result of summary.results) {
          if (result.status === 'refreshed') tally.lastEvent = `refreshed at ${elapsed(started)} s`;
          if (result.status === 'failed')
            tally.lastEvent = `failed (${result.failureClass}) at ${elapsed(started)} s`;
        }
        if (!live && summary.refreshed + summary.failed > 0)
          out.write(`[${pad(elapsed(started))}s] ${tally.lastEvent}\n`);
        await sleep(options.schedule * 1000);
      }
    })();

    const consumer = (async () => {
      while (!stopping.signal.aborted) {
        tally.consumerRequests += 1;
        try {
          const response = await apiFetch(api!.url);
          await response.body?.cancel();
          if (response.ok) tally.consumerOk += 1;
          else {
            tally.consumerFailed += 1;
            tally.consumerErrors[`HTTP ${response.status}`] =
              (tally.consumerErrors[`HTTP ${response.status}`] ?? 0) + 1;
          }
        } catch (error) {
          tally.consumerFailed += 1;
          const name = (error as Error).name ?? 'Error';
          tally.consumerErrors[name] = (tally.consumerErrors[name] ?? 0) + 1;
        }
        await sleep(options.consumerInterval);
      }
    })();

    const deployment = new Deployment({ stack: STACK, local: true });
    const render = async (final = false) => {
      const { describeConnection } = await import('../cli/connections.js');
      const hint = (await describeConnection(deployment, CONNECTION).catch(() => undefined))?.hint;
      const now = Date.now();
      const seconds = elapsed(started);
      const failures = metrics.failures();
      const provider = providerCounts(auth);
      const reuses = provider.reuses;
      const refreshes = provider.accepted;
      if (!live) {
        out.write(
          `[${pad(seconds)}s] ${CONNECTION}: ${hint?.status ?? '?'}, expires in ${hint?.expiresAt ? Math.round((hint.expiresAt - now) / 1000) : '?'} s, ` +
            `refreshes ${refreshes}, failures ${sum(failures)} | consumer ${tally.consumerOk} ok, ${tally.consumerFailed} failed, ` +
            `${api!.counts().unauthorized} × 401 | reuses ${reuses}\n`,
        );
        return;
      }
      const table = newTable(
        ['Connection', 'Status', 'Expires in', 'Last refresh', 'Refreshes', 'Failures', 'Reuses'],
        out,
      );
      table.push([
        CONNECTION,
        hint?.status ?? '?',
        hint?.expiresAt ? `${Math.max(0, Math.round((hint.expiresAt - now) / 1000))} s` : '-',
        hint?.refreshedAt ? `${Math.round((now - hint.refreshedAt) / 1000)} s ago` : '-',
        String(refreshes),
        String(sum(failures)),
        String(reuses),
      ]);
      const total = options.duration;
      const bar = total
        ? `${'█'.repeat(Math.round((Math.min(seconds, total) / total) * 30)).padEnd(30, '░')} ${seconds}/${total} s`
        : `${seconds} s`;
      logUpdate(
        [
          `token-refresher demo  ${bar}  ${final ? '' : '(Ctrl-C to stop)'}`,
          table.toString(),
          `Refresher: ${tally.runs} scheduled runs (every ${options.schedule} s)${tally.lastEvent ? `, last ${tally.lastEvent}` : ''}`,
          `Consumer:  ${tally.consumerRequests} requests through TokenClient.fetch, ${tally.consumerOk} ok, ${tally.consumerFailed} failed, ` +
            `${api!.counts().unauthorized} answered 401`,
          `Provider:  ${provider.accepted + provider.refused} refresh tokens presented, ${provider.accepted} accepted, ${provider.refused} refused, ${reuses} reused`,
          LEGEND,
        ].join('\n'),
      );
      if (final) logUpdate.done();
    };

    // --duration counts from the start, setup included: the run lasts what was asked.
    if (options.duration !== undefined)
      setTimeout(stop, Math.max(0, started + options.duration * 1000 - Date.now())).unref();
    const display = (async () => {
      let ticks = 0;
      while (!stopping.signal.aborted) {
        await sleep(1000);
        if (stopping.signal.aborted) break;
        ticks += 1;
        if (live || ticks % 15 === 0) await render();
      }
    })();

    if (!stopping.signal.aborted) {
      await new Promise((resolve) => stopping.signal.addEventListener('abort', resolve));
    }
    await Promise.all([schedule, consumer, display]);
    await render(true);
  } catch (error) {
    failure = error;
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }

  // Summary, before anything is stopped (the provider's log lives in the auth server).
  const failuresByClass = metrics.failures();
  const provider = providerCounts(auth);
  const endedAt = Date.now();
  const summary: DemoSummary = {
    seconds: elapsed(started),
    refreshes: provider.accepted,
    scheduledRefreshes: tally.scheduledRefreshes,
    onDemandRefreshes: tally.onDemandRefreshes,
    otherRefreshes: Math.max(0, provider.accepted - tally.scheduledRefreshes - tally.onDemandRefreshes),
    refusedByProvider: provider.refused,
    refresherRuns: tally.runs,
    failuresByClass,
    refreshTokensPresented: provider.accepted + provider.refused,
    reusesDetected: provider.reuses,
    consumerRequests: tally.consumerRequests,
    consumerOk: tally.consumerOk,
    consumerFailed: tally.consumerFailed,
    consumerErrors: tally.consumerErrors,
    unauthorized: api?.counts().unauthorized ?? 0,
    connectionStatus: '?',
    processesLeft: [],
    healthy: false,
    verdict: 'unhealthy',
    problems: [],
  };
  try {
    const { describeConnection } = await import('../cli/connections.js');
    const info = await describeConnection(new Deployment({ stack: STACK, local: true }), CONNECTION);
    summary.connectionStatus = info?.hint?.status ?? '?';
  } catch {
    // Reported as '?'.
  }
  await shutDown(moto, auth, api, summary);
  process.off('exit', killMoto);
  if (failure !== undefined) {
    if (summary.processesLeft.length > 0) out.write(`left running: ${summary.processesLeft.join(', ')}\n`);
    throw failure;
  }

  // Token lifetimes that passed since the connection was made: one refresh is due per lifetime.
  const lifetimes = connectedAt !== undefined ? (endedAt - connectedAt) / 1000 / options.tokenTtl : 0;
  const expected = Math.floor(lifetimes);
  if (sum(failuresByClass) > 0) summary.problems.push('refresh failures');
  if (summary.refusedByProvider > 0)
    summary.problems.push(`${summary.refusedByProvider} refresh requests refused by the provider`);
  if (summary.reusesDetected > 0) summary.problems.push('refresh-token reuse detected by the provider');
  if (summary.consumerFailed > 0) summary.problems.push('consumer requests failed');
  if (summary.refreshes < expected) {
    summary.problems.push(
      `only ${summary.refreshes} refreshes in ${summary.seconds} s (expected at least ${expected})`,
    );
  }
  if (summary.connectionStatus !== 'active')
    summary.problems.push(`the connection is ${summary.connectionStatus}`);
  if (summary.processesLeft.length > 0)
    summary.problems.push(`left running: ${summary.processesLeft.join(', ')}`);
  summary.healthy = summary.problems.length === 0 && expected >= 1;
  summary.verdict = summary.problems.length > 0 ? 'unhealthy' : expected >= 1 ? 'healthy' : 'too_short';
  out.write(renderSummary(summary, out, options));
  if (!summary.healthy && logs.length > 0 && process.env.DEMO_SHOW_LOGS === '1')
    out.write(`${logs.join('\n')}\n`);
  return summary;
}

/** Stops the API, the authorization server and moto, and checks moto's process is gone. */
async function shutDown(
  moto: MotoServer | undefined,
  auth: AuthServer | undefined,
  api: ProtectedResource | undefined,
  summary: DemoSummary,
): Promise<void> {
  await api?.stop();
  await auth?.stop();
  if (moto) {
    const stopped = await Promise.race([
      moto.stop().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
    ]);
    if (!stopped || (moto.pid !== undefined && alive(moto.pid)))
      summary.processesLeft.push(`moto_server (pid ${moto.pid})`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The auth server fixture, without oidc-provider's notice about this Node.js version. */
async function startQuietAuthServer(tokenTtl: number): Promise<AuthServer> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
    warn(...args);
  };
  try {
    const { startAuthServer } = await import('../sandbox/auth-server.js');
    return await startAuthServer({
      autoApprove: true,
      accessTokenTtlSeconds: tokenTtl,
      clients: [{ clientId: CLIENT_ID, authMethod: 'client_secret_basic' }],
    });
  } finally {
    console.warn = warn;
  }
}

/** Counts the engine's metrics in memory (refreshes, failures by class). */
function countingMetrics(): Metrics & { count(name: string): number; failures(): Record<string, number> } {
  const totals = new Map<string, number>();
  const failures: Record<string, number> = {};
  return {
    add(name, _unit, value, dimensions) {
      if (name === MetricName.RefreshFailed && dimensions?.FailureClass) {
        failures[dimensions.FailureClass] = (failures[dimensions.FailureClass] ?? 0) + value;
        return;
      }
      if (dimensions && Object.keys(dimensions).length > 0) return;
      totals.set(name, (totals.get(name) ?? 0) + value);
    },
    flush() {},
    count: (name) => totals.get(name) ?? 0,
    failures: () => ({ ...failures }),
  };
}

/** What the live view's columns count. */
const LEGEND = [
  'Refreshes: refresh tokens the provider accepted, whoever sent them (the refresher, the consumer, your CLI).',
  "Failures: refreshes that failed in the demo's refresher.  Reuses: refresh tokens presented again after",
  'being used; the provider then revokes the whole grant (must stay 0).',
].join('\n');

function renderSummary(summary: DemoSummary, out: Output, options: Pick<DemoOptions, 'tokenTtl'>): string {
  const table = newTable(['Summary', `${summary.seconds} s`], out);
  const classes = Object.entries(summary.failuresByClass)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const errors = Object.entries(summary.consumerErrors)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  table.push(
    [
      `Refreshes of "${CONNECTION}"`,
      `${summary.refreshes} (scheduled ${summary.scheduledRefreshes}, on demand ${summary.onDemandRefreshes}, by the CLI or others ${summary.otherRefreshes})`,
    ],
    ['Refresher runs', String(summary.refresherRuns)],
    [
      'Refresh failures',
      sum(summary.failuresByClass) === 0 ? '0' : `${sum(summary.failuresByClass)} (${classes})`,
    ],
    [
      'Refresh tokens presented to the provider',
      `${summary.refreshTokensPresented} (${summary.refreshes} accepted, ${summary.refusedByProvider} refused)`,
    ],
    ['Refresh-token reuses detected by the provider', String(summary.reusesDetected)],
    [
      'Consumer requests',
      `${summary.consumerRequests} (${summary.consumerOk} ok, ${summary.consumerFailed} failed${errors ? `: ${errors}` : ''})`,
    ],
    ['401s answered by the API', String(summary.unauthorized)],
    ['Connection status at the end', summary.connectionStatus],
    [
      'Processes left running',
      summary.processesLeft.length === 0 ? 'none' : summary.processesLeft.join(', '),
    ],
  );
  const verdict =
    summary.verdict === 'healthy'
      ? 'HEALTHY'
      : summary.verdict === 'too_short'
        ? `TOO SHORT FOR A VERDICT: no problem seen, but ${summary.seconds} s is less than one access-token ` +
          `lifetime (${options.tokenTtl} s) after connecting, so no refresh was due; run with --duration ` +
          `${Math.ceil(options.tokenTtl + 15)} or more`
        : `NOT HEALTHY: ${summary.problems.join('; ')}`;
  return `${table.toString()}\n${verdict}\n`;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function elapsed(started: number): number {
  return Math.round((Date.now() - started) / 1000);
}

function pad(n: number): string {
  return String(n).padStart(3, ' ');
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

export function demoProgram(): Command {
  return new Command('demo')
    .description(
      'token-refresher end to end on this machine: moto, an OAuth server, the refresher, a consumer',
    )
    .option('--duration <seconds>', 'stop after this long (default: run until Ctrl-C)', seconds)
    .option('--schedule <seconds>', 'refresher schedule period', seconds, 10)
    .option('--token-ttl <seconds>', 'access-token lifetime at the authorization server', seconds, 60)
    .option('--refresh-window <seconds>', 'refresh when the token expires within this', seconds, 25)
    .option('--min-interval <seconds>', 'never refresh a valid token more often than this', seconds, 15)
    .option(
      '--version-floor <seconds>',
      'the hard floor between two refreshes, even of an expired token (default: --min-interval)',
      seconds,
    )
    .option('--consumer-interval <ms>', 'pause between consumer requests', seconds, 1000)
    .option('--plain', 'plain progress lines instead of the live table');
}

if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  const options = demoProgram().parse(process.argv).opts<DemoOptions>();
  try {
    const summary = await runDemo(options);
    process.exitCode = summary.verdict === 'healthy' ? 0 : summary.verdict === 'too_short' ? 2 : 1;
  } catch (error) {
    process.stderr.write(`demo failed: ${(error as Error).message.split('\n')[0]}\n`);
    process.exitCode = 1;
  }
}
