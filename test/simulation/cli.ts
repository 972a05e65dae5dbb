/**
 * `npm run simulate -- --seed <n> --days <d> [--connections <k>] [--faults <x>] [--lifetimes 5,15,60]`
 *
 * Runs the deterministic simulation of the real engine and prints the report; exits 1 on
 * any invariant violation (2 on bad arguments). The same arguments print the same report.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_FLOODS } from './floods.js';
import { MUTATIONS, type MutationName } from './mutations.js';
import { formatReport } from './report.js';
import { DEFAULT_LIFETIMES, type SimulationOptions, simulate } from './simulation.js';

function usage(message: string): never {
  console.error(`${message}
usage: npm run simulate -- --seed <n> --days <d> [--connections <k>] [--faults <x>]
                           [--lifetimes <min,min,...>] [--min-interval <s>] [--version-floor <s>] [--consumers <n>]
                           [--flood <requests/min>] [--flood-bursts <per day>] [--flood-replay <per version>]
                           [--mutate <name>]... (a deliberate bug, to see it caught: ${Object.keys(MUTATIONS).join(', ')})`);
  process.exit(2);
}

function number(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) usage(`--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) usage(`--${name} must be a non-negative number (got "${value}")`);
  return n;
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        seed: { type: 'string' },
        days: { type: 'string' },
        connections: { type: 'string' },
        faults: { type: 'string' },
        lifetimes: { type: 'string' },
        'min-interval': { type: 'string' },
        'version-floor': { type: 'string' },
        consumers: { type: 'string' },
        flood: { type: 'string' },
        'flood-bursts': { type: 'string' },
        'flood-replay': { type: 'string' },
        mutate: { type: 'string', multiple: true },
      },
      strict: true,
    });
  } catch (error) {
    return usage((error as Error).message);
  }
})();

const options: SimulationOptions = {
  seed: Math.floor(number('seed', values.seed)),
  days: number('days', values.days),
  connections: Math.floor(number('connections', values.connections, 100)),
  faults: number('faults', values.faults, 1),
  consumers: Math.floor(number('consumers', values.consumers, 1)),
  floodPerMinute: number('flood', values.flood, DEFAULT_FLOODS.perMinute),
  floodBurstsPerDay: number('flood-bursts', values['flood-bursts'], DEFAULT_FLOODS.burstsPerDay),
  floodReplay: number('flood-replay', values['flood-replay'], DEFAULT_FLOODS.replay),
};
if (values.lifetimes !== undefined) {
  const minutes = values.lifetimes.split(',').map((m) => number('lifetimes', m.trim()));
  options.lifetimes = minutes.map((m) => [m, DEFAULT_LIFETIMES.find(([d]) => d === m)?.[1] ?? 10] as const);
}
for (const name of values.mutate ?? []) {
  const mutation = MUTATIONS[name as MutationName];
  if (!mutation) usage(`unknown mutation "${name}" (known: ${Object.keys(MUTATIONS).join(', ')})`);
  options.mutations = [...(options.mutations ?? []), mutation];
}
if (values['min-interval'] !== undefined) {
  options.settings = {
    ...options.settings,
    minIntervalMs: number('min-interval', values['min-interval']) * 1000,
  };
}
if (values['version-floor'] !== undefined) {
  // The engine's hard floor between refreshes, when it has one (settings.versionFloorMs).
  const versionFloorMs = number('version-floor', values['version-floor']) * 1000;
  options.settings = { ...options.settings, ...({ versionFloorMs } as object) };
}

const started = performance.now();
const result = await simulate(options);
console.log(formatReport(result));
console.log(`(wall time ${((performance.now() - started) / 1000).toFixed(1)} s)`);
process.exit(result.passed ? 0 : 1);
