import { DEFAULT_SETTINGS, type EngineSettings } from './settings.js';

/**
 * The refresher function's environment: one encoder (the CDK construct sets the variables)
 * and one decoder (the handler reads them at cold start), over one table of variables.
 * Engine durations travel in seconds; the engine works in milliseconds.
 */

/** What a refresher function is configured with. */
export interface RefresherConfig {
  settings: EngineSettings;
  /** Serve only consumers' on-demand requests (no runs, no force, no connect). */
  onDemandOnly?: boolean;
  leaseTableName: string;
  refreshTokenKeyId: string;
}

/** The variables naming resources. */
export const RefresherVariable = {
  prefix: 'CONNECTION_PREFIX',
  leaseTableName: 'LEASE_TABLE_NAME',
  refreshTokenKeyId: 'REFRESH_TOKEN_KEY_ID',
  onDemandOnly: 'ON_DEMAND_ONLY',
} as const;

type TunableSetting = Exclude<keyof EngineSettings, 'prefix'>;

interface SettingVariable {
  variable: string;
  /** `seconds`: the variable holds seconds, the setting milliseconds. */
  unit: 'seconds' | 'number';
  integer?: boolean;
  max?: number;
}

/** Settings that are not numbers: a comma-separated list, and a test-only switch. */
export const LIST_AND_SWITCH_VARIABLES = {
  allowedTokenOrigins: 'ALLOWED_TOKEN_ORIGINS',
  allowInsecureLoopback: 'ALLOW_INSECURE_LOOPBACK',
} as const;

/** Engine settings a deployment may tune, and the variable of each. */
export const SETTING_VARIABLES = {
  refreshWindowMs: { variable: 'REFRESH_WINDOW_SECONDS', unit: 'seconds' },
  minIntervalMs: { variable: 'MIN_INTERVAL_SECONDS', unit: 'seconds' },
  versionFloorMs: { variable: 'VERSION_FLOOR_SECONDS', unit: 'seconds' },
  maxAgeMs: { variable: 'MAX_AGE_SECONDS', unit: 'seconds' },
  requestTimeoutMs: { variable: 'REQUEST_TIMEOUT_SECONDS', unit: 'seconds' },
  concurrency: { variable: 'CONCURRENCY', unit: 'number', integer: true, max: 64 },
  writesPerSecond: { variable: 'WRITES_PER_SECOND', unit: 'number', max: 50 },
  failureBackoffBaseMs: { variable: 'FAILURE_BACKOFF_BASE_SECONDS', unit: 'seconds' },
  failureBackoffCapMs: { variable: 'FAILURE_BACKOFF_CAP_SECONDS', unit: 'seconds' },
  reauthDueWithinMs: { variable: 'REAUTH_DUE_WITHIN_SECONDS', unit: 'seconds' },
  nearExpiryMs: { variable: 'NEAR_EXPIRY_SECONDS', unit: 'seconds' },
} as const satisfies Partial<Record<TunableSetting, SettingVariable>>;

export type EncodedSetting = keyof typeof SETTING_VARIABLES;

type EncodableSettings = Partial<
  Pick<EngineSettings, EncodedSetting | 'allowedTokenOrigins' | 'allowInsecureLoopback'>
>;

/** The variables of a refresher function, for the construct's `environment`. */
export function encodeRefresherEnvironment(config: {
  prefix: string;
  leaseTableName: string;
  refreshTokenKeyId: string;
  onDemandOnly?: boolean;
  settings?: EncodableSettings;
}): Record<string, string> {
  const env: Record<string, string> = {
    [RefresherVariable.prefix]: config.prefix,
    [RefresherVariable.leaseTableName]: config.leaseTableName,
    [RefresherVariable.refreshTokenKeyId]: config.refreshTokenKeyId,
  };
  if (config.onDemandOnly) env[RefresherVariable.onDemandOnly] = 'true';
  for (const [setting, spec] of Object.entries(SETTING_VARIABLES) as [EncodedSetting, SettingVariable][]) {
    const value = config.settings?.[setting];
    if (value === undefined) continue;
    env[spec.variable] = String(spec.unit === 'seconds' ? value / 1000 : value);
  }
  const origins = config.settings?.allowedTokenOrigins;
  if (origins !== undefined) env[LIST_AND_SWITCH_VARIABLES.allowedTokenOrigins] = origins.join(',');
  if (config.settings?.allowInsecureLoopback) env[LIST_AND_SWITCH_VARIABLES.allowInsecureLoopback] = 'true';
  return env;
}

/**
 * Reads and validates a refresher's configuration. A bad or missing value fails with one
 * message naming every variable at fault (never echoing a value).
 */
export function decodeRefresherEnvironment(env: Record<string, string | undefined>): RefresherConfig {
  const problems: string[] = [];
  const required = (variable: string): string => {
    const value = env[variable];
    if (value === undefined || value === '') problems.push(`${variable}: required`);
    return value ?? '';
  };
  const prefix = required(RefresherVariable.prefix);
  const leaseTableName = required(RefresherVariable.leaseTableName);
  const refreshTokenKeyId = required(RefresherVariable.refreshTokenKeyId);
  const onDemandRaw = env[RefresherVariable.onDemandOnly] ?? 'false';
  if (onDemandRaw !== 'true' && onDemandRaw !== 'false') {
    problems.push(`${RefresherVariable.onDemandOnly}: must be "true" or "false"`);
  }

  const settings: EngineSettings = { ...DEFAULT_SETTINGS, prefix };
  for (const [setting, spec] of Object.entries(SETTING_VARIABLES) as [EncodedSetting, SettingVariable][]) {
    const raw = env[spec.variable];
    if (raw === undefined || raw.trim() === '') continue;
    const value = Number(raw);
    const bad =
      !Number.isFinite(value) ||
      value <= 0 ||
      (spec.integer === true && !Number.isInteger(value)) ||
      (spec.max !== undefined && value > spec.max);
    if (bad) {
      const whole = spec.integer ? 'a whole number' : 'a number';
      const range = spec.max !== undefined ? ` up to ${spec.max}` : '';
      problems.push(`${spec.variable}: must be ${whole} greater than 0${range}`);
      continue;
    }
    settings[setting] = spec.unit === 'seconds' ? value * 1000 : value;
  }

  const originsRaw = env[LIST_AND_SWITCH_VARIABLES.allowedTokenOrigins];
  if (originsRaw !== undefined && originsRaw.trim() !== '') {
    const origins = originsRaw
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean);
    if (origins.length === 0)
      problems.push(`${LIST_AND_SWITCH_VARIABLES.allowedTokenOrigins}: no origin listed`);
    settings.allowedTokenOrigins = origins;
  }
  const insecureRaw = env[LIST_AND_SWITCH_VARIABLES.allowInsecureLoopback] ?? 'false';
  if (insecureRaw !== 'true' && insecureRaw !== 'false') {
    problems.push(`${LIST_AND_SWITCH_VARIABLES.allowInsecureLoopback}: must be "true" or "false"`);
  }
  settings.allowInsecureLoopback = insecureRaw === 'true';

  if (problems.length > 0) throw new Error(`token-refresher is misconfigured: ${problems.join('; ')}`);
  return { settings, onDemandOnly: onDemandRaw === 'true', leaseTableName, refreshTokenKeyId };
}
