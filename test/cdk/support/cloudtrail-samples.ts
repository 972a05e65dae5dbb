/**
 * Sample CloudTrail events as EventBridge delivers them ("AWS API Call via CloudTrail"),
 * for testing the watch rules' patterns. Their shape follows AWS documentation:
 *
 * - the envelope: EventBridge user guide, "Events from AWS services" (detail-type
 *   `AWS API Call via CloudTrail`, `source` `aws.<service>`, the CloudTrail record as
 *   `detail`);
 * - `userIdentity`: CloudTrail user guide, "CloudTrail userIdentity element" (an assumed
 *   role's `arn` is its STS session, `sessionContext.sessionIssuer.arn` its IAM role; an
 *   IAM user and the root user have no session issuer; a service has `invokedBy`);
 * - Secrets Manager records: Secrets Manager user guide, "AWS CloudTrail entries for
 *   Secrets Manager" (`requestParameters.secretId` as the caller named the secret, `name`
 *   for CreateSecret; values are never logged);
 * - KMS records: KMS developer guide, "Logging AWS KMS API calls with AWS CloudTrail"
 *   (PutKeyPolicy, CreateGrant, DisableKey, ScheduleKeyDeletion examples, each with
 *   `resources[].ARN` of the key);
 * - Lambda records: Lambda developer guide, "Logging AWS Lambda API calls using
 *   AWS CloudTrail" (event names carry the API version, e.g.
 *   `UpdateFunctionConfiguration20150331v2`);
 * - IAM records: IAM user guide, "Logging IAM and AWS STS API calls with AWS CloudTrail"
 *   (global service events recorded in us-east-1).
 *
 * Identifiers are the documentation's example values (account 111122223333, addresses
 * from 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24).
 */
import { ENV } from './policy-evaluator.js';

export const ACCOUNT = ENV.account;
export const REGION = ENV.region;

export type UserIdentity = Record<string, unknown>;

/** A role session (a Lambda function's execution role: the session is named after the function). */
export function assumedRole(roleName: string, session = 'session'): UserIdentity {
  return {
    type: 'AssumedRole',
    principalId: `AROAIDPPEZS35WEXAMPLE:${session}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${session}`,
    accountId: ACCOUNT,
    accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAIDPPEZS35WEXAMPLE',
        arn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
        accountId: ACCOUNT,
        userName: roleName,
      },
      attributes: { creationDate: '2026-01-15T09:00:00Z', mfaAuthenticated: 'false' },
    },
  };
}

/** An IAM user with long-term keys (console sign-in adds session attributes, never an issuer). */
export function iamUser(userName: string, console = false): UserIdentity {
  return {
    type: 'IAMUser',
    principalId: 'AIDACKCEVSQ6C2EXAMPLE',
    arn: `arn:aws:iam::${ACCOUNT}:user/${userName}`,
    accountId: ACCOUNT,
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    userName,
    ...(console
      ? { sessionContext: { attributes: { creationDate: '2026-01-15T09:00:00Z', mfaAuthenticated: 'true' } } }
      : {}),
  };
}

export const ROOT: UserIdentity = {
  type: 'Root',
  principalId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:root`,
  accountId: ACCOUNT,
  accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
};

export function awsService(service: string): UserIdentity {
  return { type: 'AWSService', invokedBy: service };
}

export interface ApiCall {
  /** `secretsmanager`, `kms`, `lambda`, `iam`. */
  service: string;
  eventName: string;
  userIdentity: UserIdentity;
  requestParameters?: Record<string, unknown> | null;
  resources?: { ARN: string; accountId: string; type?: string }[];
  sourceIPAddress?: string;
  awsRegion?: string;
  readOnly?: boolean;
}

/** A CloudTrail record of an API call, delivered to EventBridge. */
export function apiCallEvent(call: ApiCall): Record<string, unknown> {
  const awsRegion = call.awsRegion ?? (call.service === 'iam' ? 'us-east-1' : REGION);
  return {
    version: '0',
    id: '6f87d04b-9f74-4f04-a780-7acf4b0a9b38',
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${call.service}`,
    account: ACCOUNT,
    time: '2026-01-15T09:30:00Z',
    region: awsRegion,
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: call.userIdentity,
      eventTime: '2026-01-15T09:30:00Z',
      eventSource: `${call.service}.amazonaws.com`,
      eventName: call.eventName,
      awsRegion,
      sourceIPAddress: call.sourceIPAddress ?? '198.51.100.10',
      userAgent: 'aws-sdk-js/3.1164.0 ua/2.1 os/linux lang/js md/nodejs#24',
      requestParameters: call.requestParameters ?? null,
      responseElements: null,
      requestID: 'b6a3a8b1-2f0e-4bdb-8a8e-5f9d8b9e1234',
      eventID: '3c5e0b7e-8d2a-4b7f-9e5c-1a2b3c4d5e6f',
      readOnly: call.readOnly ?? false,
      ...(call.resources === undefined ? {} : { resources: call.resources }),
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Management',
    },
  };
}

/** `GetSecretValue` of a secret, named as the caller named it. */
export function getSecretValue(secretId: string, userIdentity: UserIdentity, extra: Partial<ApiCall> = {}) {
  return apiCallEvent({
    service: 'secretsmanager',
    eventName: 'GetSecretValue',
    userIdentity,
    requestParameters: { secretId, versionStage: 'AWSCURRENT' },
    readOnly: true,
    ...extra,
  });
}

/** A Secrets Manager write (`PutSecretValue` etc.: `secretId`; `CreateSecret`: `name`). */
export function secretWrite(
  eventName: string,
  secret: string,
  userIdentity: UserIdentity,
  extra: Partial<ApiCall> = {},
) {
  return apiCallEvent({
    service: 'secretsmanager',
    eventName,
    userIdentity,
    requestParameters:
      eventName === 'CreateSecret'
        ? { name: secret, kmsKeyId: 'alias/example', clientRequestToken: '0a1b2c3d' }
        : { secretId: secret, clientRequestToken: '0a1b2c3d' },
    ...extra,
  });
}

/** A KMS key-administration call on a key (by ARN, as CloudTrail records its `resources`). */
export function keyAdmin(eventName: string, keyArn: string, userIdentity: UserIdentity) {
  const keyId = keyArn.split('/').at(-1) ?? keyArn;
  const requestParameters: Record<string, unknown> =
    eventName === 'PutKeyPolicy'
      ? { keyId, policyName: 'default', bypassPolicyLockoutSafetyCheck: false }
      : eventName === 'CreateGrant'
        ? { keyId, granteePrincipal: `arn:aws:iam::${ACCOUNT}:role/Attacker`, operations: ['Decrypt'] }
        : eventName === 'ScheduleKeyDeletion'
          ? { keyId, pendingWindowInDays: 7 }
          : { keyId };
  return apiCallEvent({
    service: 'kms',
    eventName,
    userIdentity,
    requestParameters,
    resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: keyArn }],
  });
}

/** A Lambda management call (event names carry the API version). */
export function lambdaCall(
  eventName: string,
  requestParameters: Record<string, unknown>,
  userIdentity: UserIdentity,
) {
  return apiCallEvent({ service: 'lambda', eventName, userIdentity, requestParameters });
}

/** An IAM call on a role (IAM records it in us-east-1). */
export function iamRoleCall(eventName: string, roleName: string, userIdentity: UserIdentity) {
  return apiCallEvent({
    service: 'iam',
    eventName,
    userIdentity,
    requestParameters: { roleName, policyName: 'injected', policyDocument: '{"Version":"2012-10-17"}' },
  });
}
