import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { placeholderRecord } from '../../lambda/core/record.js';
import { parseEvent } from '../../lambda/refresher/events.js';
import { jsonSchemas, SCHEMA_DIRECTORY } from '../../scripts/schemas.js';
import { SAMPLE_RECORD } from '../support/record-sample.js';

/** The published JSON Schemas (schemas/, docs/consumers.md) against the zod schemas they come from. */

const record = SAMPLE_RECORD;

function validator(file: string) {
  const schema = JSON.parse(readFileSync(join(SCHEMA_DIRECTORY, file), 'utf8'));
  return new Ajv2020({ strict: false, logger: false }).compile(schema);
}

describe('JSON Schemas (schemas/)', () => {
  it('are what npm run schemas generates from the zod schemas (run it after changing one)', () => {
    for (const [file, text] of Object.entries(jsonSchemas())) {
      expect(readFileSync(join(SCHEMA_DIRECTORY, file), 'utf8'), file).toBe(text);
    }
  });

  it('the connection record schema takes what the refresher writes and refuses what it would refuse', () => {
    const valid = validator('connection-record.schema.json');
    expect(valid(record), JSON.stringify(valid.errors)).toBe(true);
    expect(valid(JSON.parse(JSON.stringify(placeholderRecord('askara-prod'))))).toBe(true);
    expect(valid({ ...record, schemaVersion: 3 })).toBe(false);
    expect(valid({ ...record, status: 'paused' })).toBe(false);
    expect(valid({ ...record, expiresAt: 'tomorrow' })).toBe(false);
  });

  it("the on-demand request schema is the consumer-facing function's: ifVersion required, no force", async () => {
    const valid = validator('on-demand-request.schema.json');
    const request = { action: 'refresh', connection: 'askara-prod', ifVersion: 'v1' };
    expect(valid(request)).toBe(true);
    await expect(parseEvent(request)).resolves.toEqual(request);
    expect(valid({ action: 'refresh', connection: 'askara-prod' })).toBe(false);
    expect(valid({ ...request, connection: 'bad name' })).toBe(false);
    await expect(parseEvent({ ...request, connection: 'bad name' })).rejects.toThrow(
      /invalid connection name/,
    );
    expect(valid({ ...request, ifVersion: 'x'.repeat(65) })).toBe(false);
  });

  it('the on-demand response schema takes every outcome and refuses others', () => {
    const valid = validator('on-demand-response.schema.json');
    expect(valid({ connection: 'a', outcome: 'current' })).toBe(true);
    expect(
      valid({
        connection: 'a',
        outcome: 'declined',
        reason: 'backoff',
        nextAttemptAt: '2026-01-01T00:00:00Z',
      }),
    ).toBe(true);
    expect(valid({ connection: 'a', outcome: 'skipped' })).toBe(false);
  });
});
