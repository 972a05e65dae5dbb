/**
 * A small, deliberately strict model of IAM and KMS authorization over a synthesized
 * template, enough to prove who can decrypt what. Intrinsics are resolved against a fixed
 * fake environment, so ARNs are plain strings and wildcards match for real. Any condition
 * operator it does not know throws: a new kind of grant fails the test instead of being
 * silently ignored.
 *
 * KMS rule (AWS KMS developer guide, "Determining access to a KMS key"): a request is
 * allowed only if no key policy or IAM statement denies it, and either the key policy
 * allows the principal itself, or the key policy allows the account (root) and an IAM
 * policy of the principal allows the request.
 *
 * Request context keys are what the caller's request carries: `lambda:SourceFunctionArn`
 * only when the call comes from inside a Lambda function's execution environment (with
 * that function's ARN). That key may be used in identity-based policies and SCPs only, not
 * in resource-based policies (AWS Lambda developer guide, "Using source function ARN to
 * control function access behavior"): a key policy that names it is refused here, as a
 * policy whose condition would never mean what it says.
 */
import type { CfnTemplate } from './synth.js';

export const ENV = { partition: 'aws', region: 'eu-west-1', account: '111122223333' } as const;
export const ACCOUNT_ROOT = `arn:aws:iam::${ENV.account}:root`;

type Json = unknown;

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: Json;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface Request {
  /** The caller's principal ARN (a role ARN for a role session). */
  principalArn: string;
  action: string;
  resource: string;
  /**
   * Request context keys (kms:ViaService, kms:EncryptionContext:..., secretsmanager:VersionStage,
   * lambda:SourceFunctionArn for a call from inside a function).
   */
  context?: Record<string, string | string[]>;
}

function arnOf(template: CfnTemplate, logicalId: string): string {
  const resource = template.Resources[logicalId];
  if (resource === undefined) throw new Error(`no resource ${logicalId}`);
  const { partition, region, account } = ENV;
  switch (resource.Type) {
    case 'AWS::IAM::Role':
      return `arn:${partition}:iam::${account}:role/${logicalId}`;
    case 'AWS::KMS::Key':
      return `arn:${partition}:kms:${region}:${account}:key/${logicalId}`;
    case 'AWS::DynamoDB::Table':
      return `arn:${partition}:dynamodb:${region}:${account}:table/${logicalId}`;
    case 'AWS::SQS::Queue':
      return `arn:${partition}:sqs:${region}:${account}:${logicalId}`;
    case 'AWS::Lambda::Function':
      return `arn:${partition}:lambda:${region}:${account}:function:${logicalId}`;
    case 'AWS::Logs::LogGroup':
      return `arn:${partition}:logs:${region}:${account}:log-group:${logicalId}:*`;
    case 'AWS::CloudWatch::Alarm':
      return `arn:${partition}:cloudwatch:${region}:${account}:alarm:${String(resource.Properties?.AlarmName ?? logicalId)}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:${partition}:secretsmanager:${region}:${account}:secret:${logicalId}-AbCdEf`;
    default:
      throw new Error(`no fake ARN for ${resource.Type}`);
  }
}

/** Resolves Ref, Fn::GetAtt (Arn) and Fn::Join against {@link ENV}. */
export function resolve(template: CfnTemplate, value: Json): Json {
  if (Array.isArray(value)) return value.map((item) => resolve(template, item));
  if (typeof value !== 'object' || value === null) return value;
  const intrinsic = value as Record<string, Json>;
  if ('Ref' in intrinsic) {
    const ref = intrinsic.Ref as string;
    if (ref === 'AWS::Partition') return ENV.partition;
    if (ref === 'AWS::Region') return ENV.region;
    if (ref === 'AWS::AccountId') return ENV.account;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    if (template.Resources[ref]?.Type === 'AWS::SQS::Queue') return `https://sqs/${ref}`;
    return ref;
  }
  if ('Fn::GetAtt' in intrinsic) {
    const [logicalId, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
    if (attribute === 'Arn') return arnOf(template, logicalId);
    if (attribute === 'QueueName') return logicalId;
    throw new Error(`cannot resolve GetAtt ${logicalId}.${attribute}`);
  }
  if ('Fn::Join' in intrinsic) {
    const [delimiter, parts] = intrinsic['Fn::Join'] as [string, Json[]];
    return parts.map((part) => String(resolve(template, part))).join(delimiter);
  }
  return Object.fromEntries(Object.entries(intrinsic).map(([key, item]) => [key, resolve(template, item)]));
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** IAM wildcard match: `*` any run of characters, `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, caseInsensitive ? 'is' : 's').test(value);
}

function matchesAction(statement: Statement, action: string): boolean {
  if (statement.NotAction !== undefined) {
    return !list(statement.NotAction).some((pattern) => wildcardMatch(pattern, action, true));
  }
  return list(statement.Action).some((pattern) => wildcardMatch(pattern, action, true));
}

function matchesResource(statement: Statement, resource: string): boolean {
  return list(statement.Resource).some((pattern) => wildcardMatch(pattern, resource));
}

type Operator = (patterns: string[], values: string[] | undefined) => boolean;

const anyOf =
  (test: (pattern: string, value: string) => boolean): Operator =>
  (patterns, values) =>
    values !== undefined && values.length === 1 && patterns.some((pattern) => test(pattern, values[0]!));
const noneOf =
  (test: (pattern: string, value: string) => boolean): Operator =>
  (patterns, values) =>
    values === undefined || !patterns.some((pattern) => test(pattern, values[0]!));
const equals = (pattern: string, value: string) => pattern === value;
const like = (pattern: string, value: string) => wildcardMatch(pattern, value);

const OPERATORS: Record<string, Operator> = {
  StringEquals: anyOf(equals),
  StringNotEquals: noneOf(equals),
  StringLike: anyOf(like),
  StringNotLike: noneOf(like),
  ArnEquals: anyOf(equals),
  ArnNotEquals: noneOf(equals),
  ArnLike: anyOf(like),
  ArnNotLike: noneOf(like),
  Bool: anyOf(equals),
  'ForAnyValue:StringEquals': (patterns, values) =>
    values?.some((value) => patterns.includes(value)) === true,
  'ForAllValues:StringEquals': (patterns, values) =>
    values === undefined || values.every((value) => patterns.includes(value)),
};

function matchesConditions(statement: Statement, request: Request): boolean {
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    const test = OPERATORS[operator];
    if (test === undefined) throw new Error(`policy evaluator: unsupported condition operator ${operator}`);
    for (const [key, patterns] of Object.entries(keys)) {
      const raw = key === 'aws:PrincipalArn' ? request.principalArn : request.context?.[key];
      const values = raw === undefined ? undefined : list(raw);
      if (!test(list(patterns).map(String), values)) return false;
    }
  }
  return true;
}

/** Whether a key-policy statement names the caller: `*`, or the caller's own ARN. */
function namesPrincipal(statement: Statement, principalArn: string): 'self' | 'account' | false {
  const principal = statement.Principal;
  if (principal === '*') return 'self';
  const aws = list((principal as { AWS?: string | string[] } | undefined)?.AWS);
  if (aws.includes('*') || aws.includes(principalArn)) return 'self';
  if (aws.includes(ACCOUNT_ROOT) || aws.includes(ENV.account)) return 'account';
  return false;
}

function applies(statement: Statement, request: Request): boolean {
  return (
    matchesAction(statement, request.action) &&
    matchesResource(statement, request.resource) &&
    matchesConditions(statement, request)
  );
}

/** The identity-policy statements of a role: its AWS::IAM::Policy documents and inline policies. */
export function identityStatements(template: CfnTemplate, roleLogicalId: string): Statement[] {
  const statements: Statement[] = [];
  const role = template.Resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  if (list(role.Properties?.ManagedPolicyArns as string[] | undefined).length > 0) {
    throw new Error(`policy evaluator: ${roleLogicalId} has managed policies, which it cannot see`);
  }
  for (const inline of list(role.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[])) {
    statements.push(...(resolve(template, inline.PolicyDocument.Statement) as Statement[]));
  }
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = list(resource.Properties?.Roles as { Ref: string }[]);
    if (!roles.some((ref) => ref.Ref === roleLogicalId)) continue;
    const document = resource.Properties?.PolicyDocument as { Statement: Statement[] };
    statements.push(...(resolve(template, document.Statement) as Statement[]));
  }
  return statements;
}

export function keyPolicyStatements(template: CfnTemplate, keyLogicalId: string): Statement[] {
  const key = template.Resources[keyLogicalId];
  if (key?.Type !== 'AWS::KMS::Key') throw new Error(`${keyLogicalId} is not a KMS key`);
  const policy = key.Properties?.KeyPolicy as { Statement: Statement[] } | undefined;
  if (policy === undefined) throw new Error(`${keyLogicalId} has no key policy`);
  return resolve(template, policy.Statement) as Statement[];
}

/** IAM only (services without resource policies here, e.g. Secrets Manager without a secret policy). */
export function iamAllows(identity: Statement[], request: Request): boolean {
  const relevant = identity.filter((statement) => applies(statement, request));
  if (relevant.some((statement) => statement.Effect === 'Deny')) return false;
  return relevant.some((statement) => statement.Effect === 'Allow');
}

export interface KmsDecision {
  allowed: boolean;
  reason: string;
}

/** Condition keys AWS evaluates in identity-based policies (and SCPs) only, never in resource-based ones. */
export const IDENTITY_ONLY_CONDITION_KEYS = ['lambda:SourceFunctionArn'] as const;

function assertResourcePolicyKeys(statements: Statement[]): void {
  for (const statement of statements) {
    for (const keys of Object.values(statement.Condition ?? {})) {
      for (const key of Object.keys(keys)) {
        if ((IDENTITY_ONLY_CONDITION_KEYS as readonly string[]).includes(key)) {
          throw new Error(
            `policy evaluator: ${key} in a resource-based policy (${statement.Sid ?? 'no sid'}): ` +
              'AWS does not evaluate it there (identity-based policies and SCPs only)',
          );
        }
      }
    }
  }
}

/** KMS authorization of `request` against a key policy and the caller's identity policies. */
export function kmsDecision(keyPolicy: Statement[], identity: Statement[], request: Request): KmsDecision {
  assertResourcePolicyKeys(keyPolicy);
  const keyStatements = keyPolicy.filter(
    (statement) => namesPrincipal(statement, request.principalArn) !== false && applies(statement, request),
  );
  const iamStatements = identity.filter((statement) => applies(statement, request));
  const deny = [...keyStatements, ...iamStatements].find((statement) => statement.Effect === 'Deny');
  if (deny) return { allowed: false, reason: `explicit deny (${deny.Sid ?? 'no sid'})` };
  const keyAllows = keyStatements.filter((statement) => statement.Effect === 'Allow');
  if (keyAllows.some((statement) => namesPrincipal(statement, request.principalArn) === 'self')) {
    return { allowed: true, reason: 'the key policy allows the principal' };
  }
  const accountDelegated = keyAllows.some(
    (statement) => namesPrincipal(statement, request.principalArn) === 'account',
  );
  const iamAllow = iamStatements.some((statement) => statement.Effect === 'Allow');
  if (accountDelegated && iamAllow)
    return { allowed: true, reason: 'the key policy delegates to IAM, which allows' };
  return {
    allowed: false,
    reason: accountDelegated ? 'no IAM statement allows it' : 'the key policy does not allow it',
  };
}
