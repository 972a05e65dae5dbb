/**
 * The JSON Schemas of what other languages read and send (docs/consumers.md), generated
 * from the zod schemas the TypeScript code uses (zod 4's `z.toJSONSchema`), and written to
 * schemas/ by `npm run schemas`. test/unit/schemas.test.ts fails when a file there is not
 * what this generates.
 *
 * - The connection record: `connectionRecordSchema` (lambda/core/record.ts), as stored
 *   (the parser's input). Its cross-field rule (an `active` record has `provider` and
 *   `refreshToken`) is zod code and not in the JSON Schema.
 * - The on-demand request a consumer sends: the refresher's own `refreshRequestSchema`
 *   (lambda/refresher/events.ts) as the consumer-facing function accepts it, `ifVersion`
 *   required and without the operator's `force`.
 * - The on-demand response: {@link onDemandResponseSchema} below, which the compiler holds
 *   to the `OnDemandResponse` interface (lambda/contract/on-demand.ts) in both directions.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import type { OnDemandResponse } from '../lambda/contract/on-demand.js';
import { connectionRecordSchema } from '../lambda/core/record.js';
import { refreshRequestSchema } from '../lambda/refresher/requests.js';

export const SCHEMA_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');

/** The answer of the on-demand function (lambda/contract/on-demand.ts documents each field). */
export const onDemandResponseSchema = z.object({
  connection: z.string(),
  outcome: z.enum(['refreshed', 'current', 'in_progress', 'declined', 'failed']),
  versionId: z.optional(z.string()),
  reason: z.optional(z.string()),
  recordStatus: z.optional(z.string()),
  nextAttemptAt: z.optional(z.string()),
  failureClass: z.optional(z.string()),
  message: z.optional(z.string()),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time: the schema and the interface describe the same object (typecheck fails otherwise). */
export const RESPONSE_SCHEMA_IS_THE_INTERFACE: Same<
  z.output<typeof onDemandResponseSchema>,
  OnDemandResponse
> = true;

const SCHEMAS = {
  'connection-record.schema.json': {
    title: 'token-refresher connection record',
    description:
      'The value of a connection secret (<prefix><connection>, stage AWSCURRENT): docs/connection-record.md',
    schema: connectionRecordSchema,
    io: 'input',
  },
  'on-demand-request.schema.json': {
    title: 'token-refresher on-demand refresh request',
    description:
      'What a consumer sends the on-demand function (TOKEN_REFRESHER_FUNCTION) after a 401: the AWSCURRENT version id it read, as ifVersion',
    schema: z.required(z.omit(refreshRequestSchema, { force: true }), { ifVersion: true }),
    io: 'input',
  },
  'on-demand-response.schema.json': {
    title: 'token-refresher on-demand refresh response',
    description:
      'The answer of the on-demand function; a consumer relies on outcome only, then re-reads the secret',
    schema: onDemandResponseSchema,
    io: 'output',
  },
} as const;

/** Each file's name and the JSON text it should hold. */
export function jsonSchemas(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(SCHEMAS).map(([file, { title, description, schema, io }]) => {
      const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
      const { $schema, ...rest } = json;
      return [file, `${JSON.stringify({ $schema, $id: file, title, description, ...rest }, null, 2)}\n`];
    }),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, text] of Object.entries(jsonSchemas())) writeFileSync(join(SCHEMA_DIRECTORY, file), text);
  console.log(`wrote ${Object.keys(SCHEMAS).join(', ')} to schemas/`);
}
