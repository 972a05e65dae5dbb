/**
 * The names every part of token-refresher shares: the CDK construct writes them, the
 * refresher, the CLI and the consumer client read them. Change one here and all agree.
 * Nothing in this file imports a library, so the consumer client can use it for free.
 */

/** The service name: the `service` dimension of every engine metric and key of every log line. */
export const SERVICE_NAME = 'token-refresher';

/** The CloudWatch namespace of the engine's metrics. */
export const METRICS_NAMESPACE = 'TokenRefresher';

/** The lease table's partition key (type S): the connection name. */
export const LEASE_TABLE_KEY = 'connection';

/**
 * The tag that carried the scheduling hint on each connection secret before hints moved to
 * the lease table (core/hint.ts). Ignored: nothing reads or writes it any more; an operator
 * may remove it (`aws secretsmanager untag-resource --tag-keys token-refresher:hint`).
 */
export const HINT_TAG_KEY = 'token-refresher:hint';

/** The default secret-name prefix of connection records. */
export const DEFAULT_CONNECTION_PREFIX = 'token-refresher/';

/** The default secret-name prefix of client-credential secrets. */
export const DEFAULT_CLIENT_CREDENTIALS_PREFIX = 'token-refresher-clients/';

/**
 * Connection names: what a secret name allows after the prefix, minus `/` and wildcards
 * (the stack's IAM policies name connection secrets by ARN pattern).
 */
export const CONNECTION_NAME_PATTERN = /^[A-Za-z0-9_+=.@-]{1,128}$/;

/** What {@link CONNECTION_NAME_PATTERN} allows, in words, for error messages. */
export const CONNECTION_NAME_RULE = '1 to 128 of A-Z a-z 0-9 _ + = . @ - (no "/", no wildcards)';

export function isConnectionName(name: string): boolean {
  return CONNECTION_NAME_PATTERN.test(name);
}

/** The secret that holds a connection's record: `<prefix><connection>`. */
export function connectionSecretName(prefix: string, connection: string): string {
  return prefix + connection;
}

/** The connection a secret name under `prefix` belongs to, or undefined for any other secret. */
export function connectionOfSecretName(prefix: string, secretName: string): string | undefined {
  if (!secretName.startsWith(prefix) || secretName.length === prefix.length) return undefined;
  return secretName.slice(prefix.length);
}

/** Environment variables of a consumer that uses the client library. */
export const ConsumerEnvironment = {
  /** The connection prefix (stack output `ConnectionPrefix`). */
  prefix: 'TOKEN_REFRESHER_PREFIX',
  /** The on-demand function consumers invoke after a 401 (stack output `OnDemandFunctionName`). */
  refresherFunction: 'TOKEN_REFRESHER_FUNCTION',
} as const;
