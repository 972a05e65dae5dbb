import { expect } from 'vitest';
import { MUTATIONS, type MutationName } from './mutations.js';
import { formatReport } from './report.js';
import { type SimulationOptions, type SimulationResult, simulate } from './simulation.js';

/** How a mutation is checked: the options of its runs, and the invariant(s) that may catch it first. */
export type MutationCase = [MutationName, Omit<SimulationOptions, 'seed'>, number | number[]];

/**
 * Clean runs by options and seed: several mutations are caught by the same seed, and a
 * fixed-seed test's run is the clean run of a mutation caught with its options.
 */
const clean = new Map<string, Promise<SimulationResult>>();
export function cleanRun(options: SimulationOptions): Promise<SimulationResult> {
  const key = JSON.stringify(options);
  if (!clean.has(key)) clean.set(key, simulate(options));
  return clean.get(key)!;
}

/**
 * Takes the first of seeds 1-8 whose run catches the mutation, requires the invariant it
 * is caught by, and runs that same seed without the mutation, which must pass: the catch is
 * the bug's doing, and a model change that moves the windows cannot silently weaken it.
 */
export async function expectCaught([name, options, invariant]: MutationCase): Promise<void> {
  let caught: { seed: number; report: string; invariant?: number } | undefined;
  for (let seed = 1; seed <= 8 && !caught; seed += 1) {
    const result = await simulate({
      ...options,
      seed,
      mutations: [MUTATIONS[name]],
      stopAtFirstViolation: true,
    });
    if (!result.passed) {
      caught = { seed, report: formatReport(result), invariant: result.violations[0]?.invariant };
    }
  }
  expect(caught, `${name} was not caught by seeds 1-8`).toBeDefined();
  expect([invariant].flat(), caught!.report).toContain(caught!.invariant);
  expect(caught!.report).toContain(`--mutate ${name}`);
  const unmutated = await cleanRun({ ...options, seed: caught!.seed });
  expect(unmutated.passed, formatReport(unmutated)).toBe(true);
}
