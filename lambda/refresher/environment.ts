// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod';
import { DEFAULT_SETTINGS, type EngineSettings } from '../core/settings.js';

const seconds = (fallbackMs: number) =>
  z.coerce
    .number()
    .positive()
    .optional()
    .transform((value) => (value === undefined ? fallbackMs : value * 1000));

/** The refresher's configuration, from the Lambda environment the CDK construct sets. */
const environmentSchema = z.object({
  CONNECTION_PREFIX: z.string().min(1),
  LEASE_TABLE_NAME: z.string().min(1),
  REFRESH_TOKEN_KEY_ID: z.string().min(1),
  REFRESH_WINDOW_SECONDS: seconds(DEFAULT_SETTINGS.refreshWindowMs),
  MIN_INTERVAL_SECONDS: seconds(DEFAULT_SETTINGS.minIntervalMs),
  MAX_AGE_SECONDS: seconds(DEFAULT_SETTINGS.maxAgeMs),
  REQUEST_TIMEOUT_SECONDS: seconds(DEFAULT_SETTINGS.requestTimeoutMs),
  CONCURRENCY: z.coerce.number().int().positive().max(64).default(DEFAULT_SETTINGS.concurrency),
  WRITES_PER_SECOND: z.coerce.number().positive().max(50).default(DEFAULT_SETTINGS.writesPerSecond),
  /** `true` on the function consumers may invoke: on-demand requests only, never `force`. */
  ON_DEMAND_ONLY: z.enum(['true', 'false']).default('false'),
});

export interface RefresherConfig {
  settings: EngineSettings;
  /** Serve only consumers' on-demand requests (no runs, no force). */
  onDemandOnly?: boolean;
  leaseTableName: string;
  refreshTokenKeyId: string;
}

/** Reads and validates the configuration; a bad value fails the invocation with a message naming it. */
export function readConfig(env: Record<string, string | undefined> = process.env): RefresherConfig {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`token-refresher is misconfigured: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    leaseTableName: e.LEASE_TABLE_NAME,
    onDemandOnly: e.ON_DEMAND_ONLY === 'true',
    refreshTokenKeyId: e.REFRESH_TOKEN_KEY_ID,
    settings: {
      ...DEFAULT_SETTINGS,
      prefix: e.CONNECTION_PREFIX,
      refreshWindowMs: e.REFRESH_WINDOW_SECONDS,
      minIntervalMs: e.MIN_INTERVAL_SECONDS,
      maxAgeMs: e.MAX_AGE_SECONDS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_SECONDS,
      concurrency: e.CONCURRENCY,
      writesPerSecond: e.WRITES_PER_SECOND,
    },
  };
}
