import { expect } from 'vitest';
import { z } from 'zod';

/**
 * The `--json` documents of every command, as README (Operator CLI, JSON output) describes
 * them: the tests validate each output they see against its schema. Objects are strict:
 * a field added to an output must be added here (and to the README) too.
 */
const iso = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'an ISO-8601 time');
const nullableIso = iso.nullable();

const onDemandAnswer = z.strictObject({
  connection: z.string(),
  outcome: z.enum(['refreshed', 'current', 'in_progress', 'declined', 'failed']),
  versionId: z.string().optional(),
  reason: z.string().optional(),
  recordStatus: z.string().optional(),
  nextAttemptAt: iso.optional(),
  failureClass: z.string().optional(),
  message: z.string().optional(),
});

const guard = z.strictObject({ name: z.string(), liftsAt: nullableIso, override: z.string() });

const statusRow = z.strictObject({
  connection: z.string(),
  status: z.string(),
  expiresAt: nullableIso,
  expiresInSeconds: z.number().nullable(),
  lastRefreshAt: nullableIso,
  refreshes24h: z.number().int().nullable(),
  versions24h: z.number().int().nullable(),
  versionQuota: z.number().int(),
  action: z.string().nullable(),
  lastErrorClass: z.string().nullable(),
  lastErrorAt: nullableIso,
  lastErrorMessage: z.string().nullable(),
  refreshTokenExpiresAt: nullableIso,
  reauthDueInDays: z.number().nullable(),
  lease: z
    .strictObject({
      held: z.boolean(),
      outcome: z.string().nullable(),
      rescuePending: z.boolean(),
      refreshToken: z.enum(['usable', 'maybe_consumed', 'interrupted', 'spent', 'rescue_pending', 'stale']),
      backoff: z.strictObject({ failureStreak: z.number().int(), nextAttemptAt: iso }).nullable(),
    })
    .nullable(),
});

export const JSON_SCHEMAS = {
  connect: z.strictObject({
    connection: z.string(),
    action: z.enum(['connect', 'import']),
    outcome: z.enum(['connected', 'pending']),
    versionId: z.string().optional(),
    expiresAt: nullableIso.optional(),
    validated: z.boolean(),
    failureClass: z.string().optional(),
    nextAttemptAt: nullableIso.optional(),
    warnings: z.array(z.string()),
  }),
  providers: z.object({ version: z.literal(1), profiles: z.array(z.object({ name: z.string() })) }),
  status: z.strictObject({
    stack: z.string(),
    region: z.string(),
    connections: z.array(statusRow),
    alarms: z.array(
      z.strictObject({
        name: z.string(),
        state: z.string(),
        since: nullableIso,
        reason: z.string().nullable(),
      }),
    ),
    alarmPrefix: z.string(),
    alarmsError: z.string().optional(),
  }),
  refresh: onDemandAnswer.extend({
    expiresAt: iso.optional(),
    guard: guard.optional(),
    failureStreak: z.number().int().nullable().optional(),
    lastError: z
      .strictObject({ class: z.string(), message: z.string().nullable(), at: nullableIso })
      .nullable()
      .optional(),
  }),
  disable: z.strictObject({
    connection: z.string(),
    status: z.literal('disabled'),
    changed: z.boolean(),
    versionId: z.string(),
  }),
  enable: z.strictObject({
    connection: z.string(),
    status: z.literal('active'),
    changed: z.boolean(),
    versionId: z.string(),
    refresh: onDemandAnswer.optional(),
  }),
  remove: z.strictObject({
    connection: z.string(),
    secretName: z.string(),
    forceDeleted: z.boolean(),
    deletionDate: nullableIso,
    restoreCommand: z.string().nullable(),
    rescuePending: z.boolean(),
  }),
  completion: z.strictObject({ shell: z.enum(['bash', 'zsh', 'fish']), script: z.string() }),
  /** What any command writes on stderr with --json when it exits non-zero. */
  error: z.strictObject({
    error: z
      .object({
        code: z.enum(['failed', 'usage', 'not_found', 'refused', 'pending', 'not_confirmed', 'environment']),
        exitCode: z.number().int().min(1).max(7),
        message: z.string(),
      })
      .catchall(z.unknown()),
  }),
} as const;

export type JsonOutput = keyof typeof JSON_SCHEMAS;

/** Fails the test with the schema's complaint when `value` is not a valid `--json` document of `command`. */
export function validateJsonOutput(command: JsonOutput, value: unknown): void {
  const parsed = JSON_SCHEMAS[command].safeParse(value);
  expect(parsed.success ? [] : parsed.error.issues, `${command} --json`).toEqual([]);
}
