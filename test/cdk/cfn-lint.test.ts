import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, synth } from './support/synth.js';

interface Match {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Path: (string | number)[] };
}

const CONFIG = join(REPO_ROOT, 'test', 'cdk', '.cfnlintrc.yaml');

/** Runs cfn-lint on a template; warnings are ignored only by id in .cfnlintrc.yaml, with the reason. */
function cfnLint(templatePath: string): Match[] {
  const result = spawnSync('cfn-lint', ['--format', 'json', '--config-file', CONFIG, '--', templatePath], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.error) {
    throw new Error(
      `cfn-lint could not be run (${result.error.message}); install it with "python3 -m pip install cfn-lint"`,
    );
  }
  // Exit code: a bit mask of 2 (error), 4 (warning), 8 (informational); other bits mean cfn-lint failed.
  if (result.status === null || (result.status & ~(2 | 4 | 8)) !== 0) {
    throw new Error(`cfn-lint failed (exit ${result.status}): ${result.stderr}`);
  }
  return JSON.parse(result.stdout || '[]') as Match[];
}

const format = (matches: Match[]) =>
  matches.map((m) => `${m.Level} ${m.Rule.Id} at ${m.Location.Path.join('/')}: ${m.Message}`);

describe('cfn-lint on the synthesized template', () => {
  it.each([
    ['default settings', {}],
    [
      'every optional feature',
      {
        connections: 'askara-prod,askara-test',
        alarmEmail: 'oncall@example.com',
        scheduleMinutes: 1,
        operatorRoleArns: 'arn:aws:iam::111122223333:role/operator',
        refreshTokenKeyOperatorRoleArns: 'arn:aws:iam::111122223333:role/break-glass',
        createTrail: true,
        tokenStoreSourceCidrs: '203.0.113.0/24,10.0.0.0/8',
      },
    ],
  ])(
    '%s: no errors and no warnings beyond those ignored by id',
    (_name, context) => {
      const { templatePath } = synth(context);
      const matches = cfnLint(templatePath);
      expect(format(matches)).toEqual([]);
    },
    120_000,
  );
});

describe('cfn-lint configuration', () => {
  it('ignores only warnings, by id, each with the reason written above it', async () => {
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(CONFIG, 'utf8').split('\n');
    const ignored = lines.flatMap((line, index) => {
      const match = /^\s*-\s*(\S+)\s*$/.exec(line);
      return match ? [{ id: match[1]!, index }] : [];
    });
    expect(ignored.length).toBeGreaterThan(0);
    for (const { id, index } of ignored) {
      expect(id, 'only warnings (W...) may be ignored, never errors').toMatch(/^W\d{4}$/);
      expect(lines[index - 1], `${id} needs its reason in a comment right above it`).toMatch(/^\s*#\s*\S/);
    }
  });
});
