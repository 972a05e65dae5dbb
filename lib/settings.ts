import { Duration, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import {
  CONNECTION_NAME_RULE,
  DEFAULT_CLIENT_CREDENTIALS_PREFIX,
  DEFAULT_CONNECTION_PREFIX,
  isConnectionName,
} from '../lambda/contract/names.js';
import { ASKARA_TOKEN_ORIGIN, DEFAULT_SETTINGS } from '../lambda/contract/settings.js';
import {
  PROFILE_REFERENCE_PREFIX,
  ProfileError,
  profileReferenceOrigin,
} from '../lambda/providers/profiles.js';

/**
 * Properties of the `TokenRefresher` construct (lib/token-refresher.ts). Every one is
 * optional; the defaults suit a 1-hour-token provider.
 */
export interface TokenRefresherProps {
  /**
   * Secret-name prefix of the connection records (one secret per connection, named
   * `<prefix><connection>`). Must end with `/`.
   * @default 'token-refresher/'
   */
  readonly connectionPrefix?: string;
  /**
   * Secret-name prefix of the client-credential secrets that records reference. The
   * refresher may only read these. Must end with `/` and must not overlap `connectionPrefix`.
   * @default 'token-refresher-clients/'
   */
  readonly clientCredentialsPrefix?: string;
  /**
   * How often the refresher runs (EventBridge Scheduler rate). Whole minutes, 1 to 60.
   * @default Duration.minutes(5)
   */
  readonly schedule?: Duration;
  /**
   * Refresh a connection when its access token expires within this window. At least the
   * schedule period, so a token cannot expire between two runs.
   * @default Duration.minutes(10) (5 minutes of safety plus the default schedule period)
   */
  readonly refreshWindow?: Duration;
  /**
   * Never refresh a still-valid token more often than this (unless an operator forces it).
   * Guards the provider and Secrets Manager's version quota: at 15 minutes one connection
   * creates at most 96 versions a day, below the ~100 that Secrets Manager keeps.
   * @default Duration.minutes(15)
   */
  readonly minInterval?: Duration;
  /**
   * The hard floor between two refreshes of one connection, even when its access token has
   * expired (only an operator's force bypasses it). It guards Secrets Manager's version
   * quota (~100 versions per secret, none deleted younger than 24 h): at 15 minutes one
   * connection creates at most 96 versions a day, whatever its provider does. Tokens that
   * live less than this plus `refreshWindow` are stale part of the time. At least 60 s and
   * at most `minInterval`; synthesis warns when it allows more than 100 versions a day
   * (short-token demos may accept that).
   * @default Duration.minutes(15) (the engine's default), or `minInterval` when that is shorter
   */
  readonly versionFloor?: Duration;
  /**
   * Refresh idle grants at least this often so providers do not expire them.
   * @default Duration.hours(24)
   */
  readonly maxAge?: Duration;
  /**
   * The function's timeout. Shorter than the schedule period so runs do not overlap; the
   * engine budgets each refresh by the remaining time.
   * @default the schedule period minus 30 s, at most 4 minutes and at least 30 s
   */
  readonly timeout?: Duration;
  /**
   * The function's memory.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The `AccessTokenNearExpiry` alarm fires when an active connection's access token
   * expires within this. Must be less than `refreshWindow`.
   * @default Duration.minutes(5)
   */
  readonly nearExpiryThreshold?: Duration;
  /**
   * The `ReauthenticationDue` alarm fires when an active connection's refresh token expires
   * (from the provider's answer or its documented lifetimes) within this: someone must run
   * the authorization code flow again before then. Whole days, 1 to 365.
   * @default Duration.days(14)
   */
  readonly reauthDueWithin?: Duration;
  /**
   * Consecutive schedule periods with at least one failed refresh before
   * `RefreshFailuresPersisting` fires.
   * @default 3
   */
  readonly failureAlarmPeriods?: number;
  /**
   * `FrequentRefreshes` fires when more refreshes than this in one hour were made before
   * the schedule would have made them (forced or on-demand).
   * @default 6
   */
  readonly earlyRefreshesPerHour?: number;
  /**
   * `RefreshRateAboveCeiling` fires when more refreshes than this succeed in one hour,
   * across all connections. Set it to about 4 × your number of connections (4 an hour is
   * the most one connection can sustain within the secret version quota).
   * @default max(60, 4 × connections.length)
   */
  readonly maxRefreshesPerHour?: number;
  /**
   * An e-mail address subscribed to the alarm topic (it must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Connections to pre-create, as placeholder records (status `reauth_required`, no
   * tokens) that an operator then connects. Secrets are retained when removed from the list.
   * @default - none
   */
  readonly connections?: string[];
  /**
   * IAM role ARNs that may use the refresh-token key besides the refresher (e.g. a
   * break-glass role for restoring a rescued token set by hand). Every role listed weakens
   * the guarantee that only the refresher can read refresh tokens; keep it empty normally.
   * @default - none: only the refresher's role may encrypt or decrypt refresh tokens
   */
  readonly refreshTokenKeyOperatorRoleArns?: string[];
  /**
   * The token-endpoint origins (`https://host[:port]`, nothing after the port) a refresh
   * token and a client secret may be sent to, pinned at deploy time: the refresher refuses
   * a record or a connect/import event that names any other token endpoint, before it
   * decrypts anything (metric `EndpointRefused`, alarm `EndpointRefused`). A wildcard or a
   * plain `http://` origin refuses to synthesize unless `allowUnsafeTokenOrigins` is set.
   * A provider profile (lambda/providers/, `token-refresher providers`) names its token
   * endpoint's origin too: `profile:xero`, with its placeholders as a query
   * (`profile:okta?domain=acme.okta.com`), resolved and validated at synth time.
   * @default [ASKARA_TOKEN_ORIGIN] (`https://api.askara.ai`)
   */
  readonly allowedTokenOrigins?: string[];
  /**
   * **Tests only.** Lets `allowedTokenOrigins` hold a wildcard or a plain `http://`
   * origin. The deployable app (bin/) cannot set it (it is no context key); the function
   * still refuses plain http unless its test-only loopback switch is on, which this
   * construct never sets.
   * @default false
   */
  readonly allowUnsafeTokenOrigins?: boolean;
  /**
   * Reserved concurrency of the on-demand function (the one consumers invoke after a
   * 401): a flood of consumer requests is throttled at this many at once and cannot take
   * the account's concurrency.
   * @default 5
   */
  readonly onDemandReservedConcurrency?: number;
  /**
   * IAM role ARNs of the operators (and deploy roles) that may write connection records:
   * the CLI's connect, disable, enable and remove, and CloudFormation when it updates a
   * pre-created connection. A record written by any other principal but the refresher's
   * roles notifies the alarm topic (rule `ConnectionRecordWrittenByOther`); they also
   * count as granted readers (rule `ConnectionRecordReadByOther`).
   * @default - none: every write but the refresher's notifies
   */
  readonly operatorRoleArns?: string[];
  /**
   * Create a multi-Region CloudTrail trail (with its own encrypted, TLS-only, versioned
   * S3 bucket) for the token-store watch rules. Those rules see CloudTrail events only
   * while a trail logs management events in the account; set this when no trail (for
   * example an organization trail) does already. See docs/security.md.
   * @default false
   */
  readonly createTrail?: boolean;
  /**
   * IPv4 CIDR blocks (on octet boundaries: /8, /16, /24 or /32) that principals other
   * than the refresher call the token store from. A Secrets Manager call on a connection
   * record from any other source address notifies the alarm topic (rule
   * `TokenStoreCalledFromUnexpectedAddress`). EventBridge cannot test "not in a CIDR", so
   * each block becomes an `anything-but` wildcard (`203.0.113.*`), hence the octet rule.
   * @default - no source-address rule
   */
  readonly tokenStoreSourceCidrs?: string[];
  /**
   * Prefix of the alarm names (the CLI finds the alarms by it).
   * @default `<stack name>-`
   */
  readonly alarmNamePrefix?: string;
  /**
   * The dashboard's name (dashboard names are global to the account).
   * @default `<stack name>-<region>`
   */
  readonly dashboardName?: string;
  /**
   * Add the stack outputs the operator CLI reads (`FunctionName`, `ConnectionPrefix`, ...,
   * lambda/contract/stack-outputs.ts) to the stack, under those exact logical IDs, so
   * `token-refresher --stack <your stack>` finds this deployment. A stack holds the outputs
   * of one TokenRefresher: turn them off for any other (the CLI then needs the override
   * flags, `--function`, `--prefix`, ...), or when the names collide with your own outputs.
   * @default true
   */
  readonly stackOutputs?: boolean;
}

/** An engine default (milliseconds, lambda/contract/settings.ts) in whole seconds. */
const engineDefaultSeconds = (
  setting: 'refreshWindowMs' | 'minIntervalMs' | 'versionFloorMs' | 'maxAgeMs',
): number => DEFAULT_SETTINGS[setting] / 1000;

/**
 * Defaults of every {@link TokenRefresherProps} setting, in one place so the construct,
 * the app's context parsing and docs/deploy.md agree. The engine's own settings take the
 * engine's defaults (`DEFAULT_SETTINGS`, the one defaults table), so a function deployed
 * with every default behaves as the engine does without configuration.
 */
export const DEFAULTS = {
  connectionPrefix: DEFAULT_CONNECTION_PREFIX,
  clientCredentialsPrefix: DEFAULT_CLIENT_CREDENTIALS_PREFIX,
  scheduleMinutes: 5,
  /** 10 minutes: 5 minutes of safety plus the default schedule period. */
  refreshWindowSeconds: engineDefaultSeconds('refreshWindowMs'),
  /**
   * 15 minutes: Secrets Manager never deletes versions younger than 24 h and keeps about
   * 100, so one connection may sustain at most 100 versions a day, one per 14.4 minutes.
   * 86400 / 900 = 96 versions a day cannot exhaust the quota even in a refresh loop. See
   * docs/deploy.md, "Limits".
   */
  minIntervalSeconds: engineDefaultSeconds('minIntervalMs'),
  /** 15 minutes, for the same reason; a shorter `minInterval` lowers it to that. */
  versionFloorSeconds: engineDefaultSeconds('versionFloorMs'),
  /** 24 hours. */
  maxAgeSeconds: engineDefaultSeconds('maxAgeMs'),
  memorySizeMb: 256,
  nearExpirySeconds: 300,
  /** 14 days: two weeks to find the owner and run the authorization code flow again. */
  reauthDueWithinDays: 14,
  failureAlarmPeriods: 3,
  earlyRefreshesPerHour: 6,
  /** Per connection: 100 versions a day / 24 h ≈ 4 refreshes an hour (the version quota's sustainable rate). */
  refreshesPerHourPerConnection: 4,
  /** Floor of the refresh-rate ceiling, for stacks whose connections are created after deployment. */
  minRefreshesPerHourCeiling: 60,
  logRetention: logs.RetentionDays.THREE_MONTHS,
  allowedTokenOrigins: [ASKARA_TOKEN_ORIGIN] as readonly string[],
  onDemandReservedConcurrency: 5,
} as const;

/** A setting (prop or context value) that cannot be deployed; the message names it. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/** Versions Secrets Manager keeps per secret (it never deletes those younger than 24 h). */
export const SECRET_VERSION_QUOTA = 100;

/** The settings after defaults and validation; every field is concrete. */
export interface ResolvedSettings {
  readonly connectionPrefix: string;
  readonly clientCredentialsPrefix: string;
  readonly schedule: Duration;
  readonly refreshWindow: Duration;
  readonly minInterval: Duration;
  readonly versionFloor: Duration;
  readonly maxAge: Duration;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly nearExpiryThreshold: Duration;
  readonly reauthDueWithin: Duration;
  readonly failureAlarmPeriods: number;
  readonly earlyRefreshesPerHour: number;
  readonly maxRefreshesPerHour: number;
  readonly alarmEmail: string | undefined;
  readonly connections: readonly string[];
  readonly refreshTokenKeyOperatorRoleArns: readonly string[];
  readonly allowedTokenOrigins: readonly string[];
  readonly onDemandReservedConcurrency: number;
  readonly operatorRoleArns: readonly string[];
  readonly createTrail: boolean;
  readonly tokenStoreSourceCidrs: readonly string[];
}

/** Characters Secrets Manager allows in a secret name, minus `/` for connection names. */
const SECRET_NAME_CHARS = /^[A-Za-z0-9/_+=.@-]+$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** Secrets Manager appends `-` and six characters to a name to form its ARN. */
const SECRET_ARN_SUFFIX_LENGTH = 7;
const MAX_SECRET_NAME_LENGTH = 512 - SECRET_ARN_SUFFIX_LENGTH;

function seconds(name: string, value: Duration, problems: string[]): number {
  try {
    const result = value.toSeconds({ integral: false });
    if (!Token.isUnresolved(result)) return result;
  } catch {
    // A token duration that needs a unit conversion: reported below.
  }
  problems.push(`${name} must be a literal duration, not a token`);
  return Number.NaN;
}

function literal(name: string, value: string, problems: string[]): boolean {
  if (Token.isUnresolved(value)) {
    problems.push(`${name} must be a literal string, not a token`);
    return false;
  }
  return true;
}

function checkPrefix(name: string, prefix: string, problems: string[]): void {
  if (!literal(name, prefix, problems)) return;
  if (prefix.length === 0 || !prefix.endsWith('/')) {
    problems.push(`${name} must end with "/" (got "${prefix}")`);
  }
  if (!SECRET_NAME_CHARS.test(prefix)) {
    problems.push(
      `${name} may contain only letters, digits and / _ + = . @ - (got "${prefix}"); wildcards are not allowed`,
    );
  }
  if (prefix.startsWith('/')) problems.push(`${name} must not start with "/" (got "${prefix}")`);
}

/**
 * Problems with the token-endpoint origins: each must be exactly an origin
 * `https://host[:port]` as the URL standard serializes it (no path, query, fragment or
 * credentials, host in lower case, no default port). A wildcard or a plain `http://`
 * origin only with `allowUnsafe` (tests).
 */
export function tokenOriginProblems(origins: readonly string[], allowUnsafe: boolean): string[] {
  const problems: string[] = [];
  if (origins.length === 0) problems.push('allowedTokenOrigins must list at least one origin');
  const seen = new Set<string>();
  for (const origin of origins) {
    if (Token.isUnresolved(origin)) {
      problems.push('allowedTokenOrigins must be literal strings, not tokens');
      continue;
    }
    if (seen.has(origin)) problems.push(`allowedTokenOrigins lists "${origin}" twice`);
    seen.add(origin);
    if (origin.includes('*')) {
      if (!allowUnsafe) {
        problems.push(
          `allowedTokenOrigins: "${origin}" is a wildcard; a refresh token may go only to a named origin ` +
            '(allowUnsafeTokenOrigins is for tests only)',
        );
      }
      continue;
    }
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      problems.push(`allowedTokenOrigins: "${origin}" is not an origin (expected https://host[:port])`);
      continue;
    }
    if (url.protocol === 'http:') {
      if (!allowUnsafe) {
        problems.push(
          `allowedTokenOrigins: "${origin}" is plain http; refresh tokens and client secrets go over https only ` +
            '(allowUnsafeTokenOrigins is for tests only)',
        );
        continue;
      }
    } else if (url.protocol !== 'https:') {
      problems.push(`allowedTokenOrigins: "${origin}" must use https`);
      continue;
    }
    if (url.origin !== origin) {
      problems.push(
        `allowedTokenOrigins: "${origin}" must be exactly an origin, https://host[:port] with nothing after it ` +
          `(no path, query, fragment or credentials; host in lower case; no default port): "${url.origin}"?`,
      );
    }
  }
  return problems;
}

/**
 * `allowedTokenOrigins` as origins: a profile reference (`profile:okta?domain=acme.okta.com`,
 * lambda/providers/) is replaced by its token endpoint's origin, resolved here, at synth
 * time, by the profile's own placeholder rules; everything else is kept for
 * `tokenOriginProblems`. A profile and an origin naming the same endpoint count once.
 */
export function resolveTokenOriginNames(entries: readonly string[], problems: string[]): string[] {
  const origins: string[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (Token.isUnresolved(entry) || !entry.startsWith(PROFILE_REFERENCE_PREFIX)) {
      origins.push(entry);
      continue;
    }
    if (seen.has(entry)) problems.push(`allowedTokenOrigins lists "${entry}" twice`);
    seen.add(entry);
    try {
      const origin = profileReferenceOrigin(entry);
      if (!origins.includes(origin)) origins.push(origin);
    } catch (error) {
      if (!(error instanceof ProfileError)) throw error;
      problems.push(`allowedTokenOrigins: "${entry}": ${error.message}`);
    }
  }
  return origins;
}

const IPV4_OCTET_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(8|16|24|32)$/;

/**
 * The EventBridge `anything-but` wildcard of an IPv4 CIDR block on an octet boundary
 * (`203.0.113.0/24` → `203.0.113.*`, a /32 → the address itself), or undefined when the
 * block is not one.
 */
export function cidrWildcard(cidr: string): string | undefined {
  const match = IPV4_OCTET_CIDR.exec(cidr);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  const kept = Number(match[5]) / 8;
  if (octets.slice(kept).some((octet) => octet !== 0)) return undefined;
  return kept === 4 ? octets.join('.') : `${octets.slice(0, kept).join('.')}.*`;
}

function wholeNumber(name: string, value: number, min: number, max: number, problems: string[]): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max} (got ${value})`);
  }
}

/**
 * Applies defaults and validates every setting, at synth time. All problems are reported
 * together in one error that names each setting and the rule it breaks.
 */
export function resolveSettings(props: TokenRefresherProps = {}): ResolvedSettings {
  const problems: string[] = [];

  const connectionPrefix = props.connectionPrefix ?? DEFAULTS.connectionPrefix;
  const clientCredentialsPrefix = props.clientCredentialsPrefix ?? DEFAULTS.clientCredentialsPrefix;
  checkPrefix('connectionPrefix', connectionPrefix, problems);
  checkPrefix('clientCredentialsPrefix', clientCredentialsPrefix, problems);
  if (
    connectionPrefix.startsWith(clientCredentialsPrefix) ||
    clientCredentialsPrefix.startsWith(connectionPrefix)
  ) {
    problems.push(
      `connectionPrefix ("${connectionPrefix}") and clientCredentialsPrefix ("${clientCredentialsPrefix}") must not overlap: ` +
        'the refresher may write connection records but only read client credentials, and consumers may read neither client secrets nor each other',
    );
  }

  const schedule = props.schedule ?? Duration.minutes(DEFAULTS.scheduleMinutes);
  const scheduleS = seconds('schedule', schedule, problems);
  if (!(scheduleS >= 60 && scheduleS <= 3600 && scheduleS % 60 === 0)) {
    problems.push(`schedule must be a whole number of minutes from 1 to 60 (got ${scheduleS} s)`);
  }

  const refreshWindow = props.refreshWindow ?? Duration.seconds(DEFAULTS.refreshWindowSeconds);
  const windowS = seconds('refreshWindow', refreshWindow, problems);
  if (!(windowS > 0)) {
    problems.push(`refreshWindow must be greater than 0 (got ${windowS} s)`);
  } else if (windowS < scheduleS) {
    problems.push(
      `refreshWindow (${windowS} s) must be at least the schedule period (${scheduleS} s), ` +
        'or an access token can expire between two runs',
    );
  }

  const minInterval = props.minInterval ?? Duration.seconds(DEFAULTS.minIntervalSeconds);
  const minIntervalS = seconds('minInterval', minInterval, problems);
  if (!(minIntervalS >= 60)) problems.push(`minInterval must be at least 60 s (got ${minIntervalS} s)`);

  const validMinInterval = minIntervalS >= 60;
  const versionFloor =
    props.versionFloor ??
    Duration.seconds(
      validMinInterval ? Math.min(DEFAULTS.versionFloorSeconds, minIntervalS) : DEFAULTS.versionFloorSeconds,
    );
  const versionFloorS = seconds('versionFloor', versionFloor, problems);
  if (!(versionFloorS >= 60)) {
    problems.push(`versionFloor must be at least 60 s (got ${versionFloorS} s)`);
  } else if (validMinInterval && versionFloorS > minIntervalS) {
    problems.push(
      `versionFloor (${versionFloorS} s) must be at most minInterval (${minIntervalS} s): it is the floor under ` +
        'every refresh that is not forced, and a still-valid token may be refreshed every minInterval',
    );
  }

  const maxAge = props.maxAge ?? Duration.seconds(DEFAULTS.maxAgeSeconds);
  const maxAgeS = seconds('maxAge', maxAge, problems);
  if (!(maxAgeS > minIntervalS)) {
    problems.push(`maxAge (${maxAgeS} s) must be greater than minInterval (${minIntervalS} s)`);
  }
  if (!(maxAgeS <= 30 * 86_400)) problems.push(`maxAge must be at most 30 days (got ${maxAgeS} s)`);

  // The function must end before the next scheduled run starts (reserved concurrency 1);
  // the engine budgets its work by the remaining time, so a shorter timeout only means
  // fewer connections per run, never a half-done refresh.
  const timeout = props.timeout ?? Duration.seconds(Math.max(30, Math.min(240, scheduleS - 30)));
  const timeoutS = seconds('timeout', timeout, problems);
  if (!(timeoutS >= 30 && timeoutS < scheduleS && timeoutS <= 900)) {
    problems.push(
      `timeout must be at least 30 s, at most 900 s and shorter than the schedule period (${scheduleS} s) (got ${timeoutS} s)`,
    );
  }

  const memorySize = props.memorySize ?? DEFAULTS.memorySizeMb;
  wholeNumber('memorySize', memorySize, 128, 10_240, problems);

  const nearExpiryThreshold = props.nearExpiryThreshold ?? Duration.seconds(DEFAULTS.nearExpirySeconds);
  const nearExpiryS = seconds('nearExpiryThreshold', nearExpiryThreshold, problems);
  if (!(nearExpiryS > 0 && nearExpiryS < windowS)) {
    problems.push(
      `nearExpiryThreshold must be greater than 0 and less than refreshWindow (${windowS} s), ` +
        `or the alarm fires on every healthy token (got ${nearExpiryS} s)`,
    );
  }

  const reauthDueWithin = props.reauthDueWithin ?? Duration.days(DEFAULTS.reauthDueWithinDays);
  const reauthDueS = seconds('reauthDueWithin', reauthDueWithin, problems);
  if (!(reauthDueS >= 86_400 && reauthDueS <= 365 * 86_400 && reauthDueS % 86_400 === 0)) {
    problems.push(`reauthDueWithin must be a whole number of days from 1 to 365 (got ${reauthDueS} s)`);
  }

  const failureAlarmPeriods = props.failureAlarmPeriods ?? DEFAULTS.failureAlarmPeriods;
  wholeNumber('failureAlarmPeriods', failureAlarmPeriods, 1, 10, problems);

  const earlyRefreshesPerHour = props.earlyRefreshesPerHour ?? DEFAULTS.earlyRefreshesPerHour;
  wholeNumber('earlyRefreshesPerHour', earlyRefreshesPerHour, 0, 10_000, problems);

  const connections = [...(props.connections ?? [])];
  const seen = new Set<string>();
  for (const name of connections) {
    if (!literal('connections', name, problems)) continue;
    if (!isConnectionName(name)) {
      problems.push(`connection name "${name}" must be ${CONNECTION_NAME_RULE}`);
    }
    if (seen.has(name)) problems.push(`connection "${name}" is listed twice`);
    seen.add(name);
    if (connectionPrefix.length + name.length > MAX_SECRET_NAME_LENGTH) {
      problems.push(
        `secret name "${connectionPrefix}${name}" is longer than ${MAX_SECRET_NAME_LENGTH} characters`,
      );
    }
  }

  const maxRefreshesPerHour =
    props.maxRefreshesPerHour ??
    Math.max(
      DEFAULTS.minRefreshesPerHourCeiling,
      DEFAULTS.refreshesPerHourPerConnection * connections.length,
    );
  wholeNumber('maxRefreshesPerHour', maxRefreshesPerHour, 1, 1_000_000, problems);

  const alarmEmail = props.alarmEmail === '' ? undefined : props.alarmEmail;
  if (alarmEmail !== undefined && literal('alarmEmail', alarmEmail, problems) && !EMAIL.test(alarmEmail)) {
    problems.push(`alarmEmail must be an e-mail address (got "${alarmEmail}")`);
  }

  const refreshTokenKeyOperatorRoleArns = [...(props.refreshTokenKeyOperatorRoleArns ?? [])];
  for (const arn of refreshTokenKeyOperatorRoleArns) {
    if (literal('refreshTokenKeyOperatorRoleArns', arn, problems) && !ROLE_ARN.test(arn)) {
      problems.push(`refreshTokenKeyOperatorRoleArns: "${arn}" is not an IAM role ARN`);
    }
  }

  const named = resolveTokenOriginNames(props.allowedTokenOrigins ?? DEFAULTS.allowedTokenOrigins, problems);
  problems.push(...tokenOriginProblems(named, props.allowUnsafeTokenOrigins === true));
  const allowedTokenOrigins = [...new Set(named)];

  const onDemandReservedConcurrency =
    props.onDemandReservedConcurrency ?? DEFAULTS.onDemandReservedConcurrency;
  wholeNumber('onDemandReservedConcurrency', onDemandReservedConcurrency, 1, 100, problems);

  const operatorRoleArns = [...(props.operatorRoleArns ?? [])];
  for (const arn of operatorRoleArns) {
    if (literal('operatorRoleArns', arn, problems) && !ROLE_ARN.test(arn)) {
      problems.push(`operatorRoleArns: "${arn}" is not an IAM role ARN`);
    }
  }

  const tokenStoreSourceCidrs = [...(props.tokenStoreSourceCidrs ?? [])];
  for (const cidr of tokenStoreSourceCidrs) {
    if (literal('tokenStoreSourceCidrs', cidr, problems) && cidrWildcard(cidr) === undefined) {
      problems.push(
        `tokenStoreSourceCidrs: "${cidr}" must be an IPv4 CIDR block on an octet boundary (/8, /16, /24 or /32, ` +
          'host bits zero): EventBridge can exclude addresses only by wildcard',
      );
    }
  }

  const logRetention = props.logRetention ?? DEFAULTS.logRetention;
  if (!Object.values(logs.RetentionDays).includes(logRetention)) {
    problems.push(
      `logRetention must be a CloudWatch Logs retention in days, e.g. 30, 90 or 365 (got ${logRetention})`,
    );
  }

  if (problems.length > 0) {
    throw new SettingsError(`TokenRefresher is misconfigured:\n  - ${problems.join('\n  - ')}`);
  }

  return {
    connectionPrefix,
    clientCredentialsPrefix,
    schedule,
    refreshWindow,
    minInterval,
    versionFloor,
    maxAge,
    timeout,
    memorySize,
    logRetention,
    nearExpiryThreshold,
    reauthDueWithin,
    failureAlarmPeriods,
    earlyRefreshesPerHour,
    maxRefreshesPerHour,
    alarmEmail,
    connections,
    refreshTokenKeyOperatorRoleArns,
    allowedTokenOrigins,
    onDemandReservedConcurrency,
    operatorRoleArns,
    createTrail: props.createTrail === true,
    tokenStoreSourceCidrs,
  };
}

/** Versions a day one connection can create when it refreshes every `interval`. */
export function worstCaseVersionsPerDay(interval: Duration): number {
  return Math.ceil(86_400 / interval.toSeconds({ integral: false }));
}

/** A setting that can be deployed but may exhaust the secret version quota: a synth warning. */
export interface SettingsWarning {
  /** The annotation id (acknowledge with `Annotation::<id>`). */
  readonly id: string;
  readonly message: string;
}

/**
 * Warnings for resolved settings that allow more versions a day than Secrets Manager
 * keeps: deployable (short-token demos need them), but a refresh loop could exhaust the
 * quota.
 */
export function versionQuotaWarnings(settings: ResolvedSettings): SettingsWarning[] {
  const bounds = [
    ['minInterval', settings.minInterval, ''],
    ['versionFloor', settings.versionFloor, ', expired tokens included'],
  ] as const;
  return bounds
    .filter(([, interval]) => worstCaseVersionsPerDay(interval) > SECRET_VERSION_QUOTA)
    .map(([name, interval, which]) => ({
      id: `token-refresher:${name}VersionQuota`,
      message:
        `${name} ${interval.toHumanString()} allows ${worstCaseVersionsPerDay(interval)} versions per ` +
        `connection per day${which}; Secrets Manager keeps about ${SECRET_VERSION_QUOTA} and deletes none ` +
        'younger than 24 h, so a refresh loop could exhaust the quota. Use at least 15 minutes.',
    }));
}
