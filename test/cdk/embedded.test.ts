import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { ConsumerEnvironment } from '../../lambda/contract/names.js';
import { StackOutput } from '../../lambda/contract/stack-outputs.js';
import { HANDLER_FILE, locateRefresherCode } from '../../lib/handler-code.js';
import { TokenRefresher } from '../../lib/token-refresher.js';
import { SKIP_BUNDLING } from './support/synth.js';

/** The construct inside someone else's stack, as the package's users embed it. */
function userStack(): Stack {
  return new Stack(new App({ context: SKIP_BUNDLING }), 'UserStack', {
    env: { account: '111122223333', region: 'eu-west-1' },
  });
}

function consumerFunction(scope: Construct, id = 'Consumer'): lambda.Function {
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('export const handler = async () => {};'),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read by path in assertions
type Json = any;

describe('the construct embedded in a user stack', () => {
  it('adds the outputs the CLI reads under their own logical IDs, wherever it sits; stackOutputs: false adds none', () => {
    const stack = userStack();
    new TokenRefresher(new Construct(stack, 'Deep'), 'Refresher');
    const outputs = Template.fromStack(stack).toJSON().Outputs as Record<string, { Description: string }>;
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(StackOutput).sort());
    expect(outputs.ConnectionPrefix?.Description).toBe(StackOutput.ConnectionPrefix);

    const quiet = userStack();
    new TokenRefresher(quiet, 'Refresher', { stackOutputs: false });
    expect(Template.fromStack(quiet).toJSON().Outputs ?? {}).toEqual({});
  });

  it('refuses two sets of the outputs in one stack, and takes a second refresher without them', () => {
    const stack = userStack();
    new TokenRefresher(stack, 'First');
    expect(() => new TokenRefresher(stack, 'Second')).toThrow(
      /UserStack\/Second and UserStack\/First would both add the CLI's stack outputs/,
    );
    const other = userStack();
    new TokenRefresher(other, 'First');
    expect(
      () => new TokenRefresher(other, 'Second', { stackOutputs: false, connectionPrefix: 'other/' }),
    ).not.toThrow();
  });

  it('bindConsumer grants both and sets the environment the client reads', () => {
    const stack = userStack();
    const refresher = new TokenRefresher(stack, 'Refresher');
    const consumer = consumerFunction(stack);
    refresher.bindConsumer(consumer, 'askara-prod');
    const json = Template.fromStack(stack).toJSON();
    const fn = Object.entries(json.Resources as Record<string, { Type: string; Properties: Json }>).find(
      ([id, r]) => id.startsWith('Consumer') && r.Type === 'AWS::Lambda::Function',
    )?.[1];
    const variables = fn?.Properties.Environment.Variables;
    expect(variables[ConsumerEnvironment.prefix]).toBe(refresher.connectionPrefix);
    expect(stack.resolve(variables[ConsumerEnvironment.refresherFunction])).toEqual(
      stack.resolve(refresher.onDemandFunction.functionName),
    );
    const policy = JSON.stringify(
      Object.values(json.Resources as Record<string, { Type: string; Properties: Json }>).filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('ConsumerServiceRole'),
      ),
    );
    expect(policy).toContain('secretsmanager:GetSecretValue');
    expect(policy).toContain('lambda:InvokeFunction');
  });

  it('a function reads one deployment through its environment: a second refresher is refused; a role gets grants only', () => {
    const stack = userStack();
    const first = new TokenRefresher(stack, 'First');
    const second = new TokenRefresher(stack, 'Second', { stackOutputs: false, connectionPrefix: 'other/' });
    const consumer = consumerFunction(stack);
    first.bindConsumer(consumer);
    // The same deployment again is fine.
    expect(() => first.grantReadAccessToken(consumer, 'askara-prod')).not.toThrow();
    expect(() => second.grantReadAccessToken(consumer)).toThrow(
      /already has TOKEN_REFRESHER_PREFIX from another/,
    );

    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => first.grantReadAccessToken(role).combine(first.grantRequestRefresh(role))).not.toThrow();
  });
});

describe("the refresher's code", () => {
  it('is the pre-bundled asset when the package ships one, else the source in this repository', () => {
    const packaged = mkdtempSync(join(tmpdir(), 'prebundled-'));
    mkdirSync(packaged, { recursive: true });
    writeFileSync(join(packaged, HANDLER_FILE), 'export const handler = async () => {};\n');
    expect(locateRefresherCode(packaged)).toEqual({ kind: 'prebundled', directory: packaged });
    expect(locateRefresherCode(undefined)).toMatchObject({ kind: 'source' });
    expect(locateRefresherCode(join(packaged, 'missing'))).toMatchObject({ kind: 'source' });
  });
});
