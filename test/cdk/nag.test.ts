import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synth } from './support/synth.js';

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

/** Every `Validations.of(x).acknowledge(...)` in the app, with the construct it is on. */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  const visit = (node: IConstruct) => {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: node.node.path, id: key.replace(/^annotation::/i, ''), reason });
      }
    }
    for (const child of node.node.children) visit(child);
  };
  visit(root);
  return found;
}

/** Findings as the pack reports them when no acknowledgement is honoured, by construct path. */
function rawFindings(root: IConstruct): { id: string; path: string }[] {
  const pack = new AwsSolutionsChecks(undefined, { verbose: true });
  // Test-only: see every finding, so acknowledgements can be matched against them.
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return pack.validateScope(root).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      id: violation.ruleName,
      path: resource.constructPath ?? '',
    })),
  );
}

/** The construct an acknowledgement on `path` covers: itself and everything below it. */
const covers = (ack: Acknowledgement, finding: { id: string; path: string }) =>
  ack.id === finding.id && (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`));

describe.each([
  ['default settings', {}],
  [
    'every optional feature',
    {
      connections: 'askara-prod,askara-test',
      alarmEmail: 'oncall@example.com',
      refreshTokenKeyOperatorRoleArns: 'arn:aws:iam::111122223333:role/break-glass',
      operatorRoleArns: 'arn:aws:iam::111122223333:role/operator',
      allowedTokenOrigins: 'https://api.askara.ai,https://auth.example.com:8443',
      createTrail: true,
      tokenStoreSourceCidrs: '203.0.113.0/24',
    },
  ],
])('cdk-nag AwsSolutionsChecks, %s', (_name, context) => {
  let s: Synthesized;

  beforeAll(() => {
    // Synthesis itself fails on an unacknowledged finding (the pack is a validation plugin).
    s = synth(context);
  });

  it('leaves zero findings unacknowledged', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(s.app);
    const findings = report.violations.map(
      (violation) =>
        `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}: ${violation.description}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it("reports no violation in the synthesized assembly's validation report", () => {
    const report = JSON.parse(readFileSync(join(s.assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
  });

  it('acknowledges only findings that exist: every acknowledgement matches a finding, and the reverse', () => {
    const acks = acknowledgements(s.app);
    const findings = rawFindings(s.app);
    for (const finding of findings) {
      expect(
        acks.some((ack) => covers(ack, finding)),
        `${finding.id} at ${finding.path} is not acknowledged`,
      ).toBe(true);
    }
    for (const ack of acks) {
      expect(
        findings.some((finding) => covers(ack, finding)),
        `stale acknowledgement ${ack.id} at ${ack.path}`,
      ).toBe(true);
    }
  });

  it('gives every acknowledgement a reason a reviewer would accept', () => {
    for (const ack of acknowledgements(s.app)) {
      expect(ack.reason.length, `${ack.id}: reason too short`).toBeGreaterThanOrEqual(100);
      expect(ack.reason, ack.id).not.toMatch(/\b(todo|tbd|fixme|n\/a|suppress(ed)?|ignore[d]?)\b/i);
      // A reason says why the rule's concern does not apply: it names the resource's purpose.
      expect(ack.reason, ack.id).toMatch(/refresher|dead-letter|connection|secret|token-refresher/i);
    }
  });

  it('acknowledges exactly the expected rules (a new acknowledgement is a reviewed change)', () => {
    const ids = [...new Set(acknowledgements(s.app).map((ack) => ack.id))].sort();
    const expected = [
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::<TokenRefresherFunctionDEFF940B.Arn>:*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:token-refresher-clients/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:token-refresher/*]',
      'AwsSolutions-SQS3',
      ...('connections' in context ? ['AwsSolutions-SMG4'] : []),
      // The trail's own bucket: no access-log bucket behind it (reason in lib/watch.ts).
      ...('createTrail' in context ? ['AwsSolutions-S1'] : []),
    ].sort();
    expect(ids).toEqual(expected);
  });

  it('writes the acknowledgements into the template metadata for auditors', () => {
    const metadata = Object.values(s.json.Resources)
      .map(
        (resource) => resource.Metadata?.cdk_nag as { rules_to_suppress: { id: string; reason: string }[] },
      )
      .filter((entry) => entry !== undefined)
      .flatMap((entry) => entry.rules_to_suppress);
    expect(metadata.length).toBeGreaterThan(0);
    for (const rule of metadata) expect(rule.reason.length).toBeGreaterThanOrEqual(100);
  });
});

describe('cdk-nag catches what it should', () => {
  it('fails synthesis on an unacknowledged finding', () => {
    expect(() =>
      synth(
        {},
        {
          extend: ({ stack }) => {
            stack.refresher.role.addToPolicy(
              new iam.PolicyStatement({ actions: ['kms:*'], resources: ['*'] }),
            );
          },
        },
      ),
    ).toThrow(/AwsSolutions-IAM5\[Action::kms:\*\]/);
  });
});
