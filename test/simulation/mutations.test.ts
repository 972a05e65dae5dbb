import { describe, it } from 'vitest';
import { expectCaught, type MutationCase } from './catches.js';

/**
 * Each mutation is a deliberate bug in test code (test/simulation/mutations.ts: a port
 * wrapper, the simulated services, the configuration or the handler's answer), never in
 * lambda/. Rare windows (a delayed write landing after a takeover, a rescue) need the right
 * seed: the test takes the first of a few seeds that catches the bug, then runs that same
 * seed without the mutation and requires it to pass, so the catch is the bug's doing.
 * Those caught with the fixed seeds' options are in simulation.test.ts.
 */
describe('the simulator catches deliberate bugs', () => {
  const quick = { days: 1, connections: 30 };
  /** One day at three times the fault rates: unsaved markers, lag episodes, answers lost twice. */
  const protocol = { days: 1, connections: 30, faults: 3 };
  /** Two days at three times the rates: records edited by an insider (0.03 per connection per day). */
  const edits = { days: 2, connections: 30, faults: 3 };
  const cases: MutationCase[] = [
    ['no-lease-condition', protocol, 1],
    /** A stale write lands: a revoked grant active again (5), or a second move nobody reports (7). */
    ['random-client-request-token', quick, [5, 7]],
    ['rescue-not-stored', quick, 3],
    ['erase-marker-on-acquire', quick, 1],
    ['emit-reauth-on-failed-commit', quick, 7],
    ['skip-origin-check', edits, 8],
    ['skip-credentials-binding', edits, 8],
    /** Eight times the fault rates: status commits that land unseen (held writes, lost answers). */
    ['no-late-reauth-report', { days: 1, connections: 30, faults: 8 }, 7],
    ['blind-ambiguous-retry', protocol, 11],
    ['absolute-lifetime-from-last-refresh', quick, 12],
  ];
  it.each(cases)('%s is reported as a violation of its invariant', (...c) => expectCaught(c), 120_000);
});
