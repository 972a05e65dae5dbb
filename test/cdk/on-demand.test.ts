import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeRefresherEnvironment } from '../../lambda/contract/refresher-environment.js';
import { parseEvent } from '../../lambda/refresher/events.js';
import {
  type CfnResource,
  logicalIdOf,
  propertiesOf,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support/synth.js';

/** The consumer-facing on-demand function and what `grantRequestRefresh` gives a consumer. */
describe('on-demand refresh function (grantRequestRefresh)', () => {
  let s: Synthesized;
  let functions: [string, CfnResource][];

  beforeAll(() => {
    s = synth(
      {},
      {
        extend: ({ stack }) => {
          const consumer = new iam.Role(stack, 'Consumer', { assumedBy: new iam.AccountRootPrincipal() });
          stack.refresher.grantReadAccessToken(consumer, 'askara-prod');
          stack.refresher.grantRequestRefresh(consumer);
        },
      },
    );
    functions = resourcesOfType(s.json, 'AWS::Lambda::Function');
  });

  const envOf = (logicalId: string) =>
    (propertiesOf(s.json, logicalId).Environment as { Variables: Record<string, string> }).Variables;

  it('runs the same handler with its own role, refuses force and runs, with reserved concurrency 5 and no async retry', async () => {
    const onDemand = logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherOnDemandFunction');
    const scheduled = logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherFunction');
    const on = propertiesOf(s.json, onDemand);
    const sc = propertiesOf(s.json, scheduled);
    // Each function its own role (roles.test.ts proves what each may do).
    const onDemandRole = logicalIdOf(s.json, 'AWS::IAM::Role', 'TokenRefresherOnDemandFunctionRole');
    expect(on.Role).toEqual({ 'Fn::GetAtt': [onDemandRole, 'Arn'] });
    expect(on.Role).not.toEqual(sc.Role);
    expect(on.Handler).toEqual(sc.Handler);
    expect(on.Runtime).toEqual(sc.Runtime);
    expect(on.Architectures).toEqual(['arm64']);
    // A consumer flood is throttled at a few at a time, and never retried by Lambda.
    expect(on.ReservedConcurrentExecutions).toBe(5);
    const invokeConfigs = resourcesOfType(s.json, 'AWS::Lambda::EventInvokeConfig').filter(
      ([, config]) => JSON.stringify(config.Properties?.FunctionName) === JSON.stringify({ Ref: onDemand }),
    );
    expect(invokeConfigs).toHaveLength(1);
    expect(invokeConfigs[0]![1].Properties).toMatchObject({
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
    expect(invokeConfigs[0]![1].Properties?.DestinationConfig).toBeUndefined();
    expect(on.Timeout).toBe(30);
    const env = envOf(onDemand);
    expect(env.ON_DEMAND_ONLY).toBe('true');
    expect(envOf(scheduled).ON_DEMAND_ONLY).toBeUndefined();
    // The environment it gets configures the real handler as consumer-facing.
    const config = decodeRefresherEnvironment({ ...env, REFRESH_TOKEN_KEY_ID: 'k', LEASE_TABLE_NAME: 't' });
    expect(config.onDemandOnly).toBe(true);
    await expect(
      parseEvent({ action: 'refresh', connection: 'askara-prod', ifVersion: 'v1' }),
    ).resolves.toMatchObject({ action: 'refresh' });
  });

  it('lets a consumer invoke only the on-demand function', () => {
    const consumer = logicalIdOf(s.json, 'AWS::IAM::Role', 'Consumer');
    const onDemand = logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherOnDemandFunction');
    const policies = resourcesOfType(s.json, 'AWS::IAM::Policy').filter(([, policy]) =>
      JSON.stringify(policy.Properties?.Roles).includes(consumer),
    );
    const statements = policies.flatMap(
      ([, policy]) =>
        (policy.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
    );
    const invoke = statements.filter((st) => JSON.stringify(st.Action).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    const resources = JSON.stringify(invoke[0]!.Resource);
    expect(resources).toContain(onDemand);
    for (const [id] of functions.filter(([id]) => id !== onDemand)) expect(resources).not.toContain(id);
  });

  it('takes its reserved concurrency from the prop (context onDemandReservedConcurrency)', () => {
    const custom = synth({ onDemandReservedConcurrency: 2 });
    const onDemand = logicalIdOf(custom.json, 'AWS::Lambda::Function', 'TokenRefresherOnDemandFunction');
    expect(propertiesOf(custom.json, onDemand).ReservedConcurrentExecutions).toBe(2);
  });

  it('outputs the on-demand function for the client library', () => {
    const onDemand = logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherOnDemandFunction');
    expect(s.json.Outputs?.OnDemandFunctionName?.Value).toEqual({ Ref: onDemand });
  });
});
