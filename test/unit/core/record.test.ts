import { describe, expect, it } from 'vitest';
import { InvalidRecordError } from '../../../lambda/core/errors.js';
import { DEFAULT_BEHAVIOUR } from '../../../lambda/core/provider-behaviour.js';
import {
  behaviourOf,
  behaviourSchema,
  connectionRecordSchema,
  parseRecord,
  placeholderRecord,
  providerSchema,
  RECORD_SCHEMA_VERSION,
  serializeRecord,
} from '../../../lambda/core/record.js';
import { SAMPLE_RECORD } from '../../support/record-sample.js';

const valid = SAMPLE_RECORD;

describe('parseRecord', () => {
  it('accepts a valid record and round-trips it', () => {
    const record = parseRecord('askara-prod', JSON.stringify(valid));
    expect(record.provider?.dialect).toBe('json');
    expect(JSON.parse(serializeRecord(record))).toEqual(valid);
  });

  it('rejects malformed JSON, naming the connection but not the value', () => {
    const raw = '{"accessToken":"secret-at-123"';
    expect(() => parseRecord('c1', raw)).toThrow(InvalidRecordError);
    expect(() => parseRecord('c1', raw)).toThrow(/connection "c1".*not valid JSON/);
    try {
      parseRecord('c1', raw);
    } catch (error) {
      expect(String(error)).not.toContain('secret-at-123');
    }
  });

  it('rejects an unknown schema version', () => {
    expect(() => parseRecord('askara-prod', JSON.stringify({ ...valid, schemaVersion: 3 }))).toThrow(
      /unknown schemaVersion 3: this refresher reads schemaVersion 1 and 2/,
    );
  });

  it('reads a version 1 record, and writes it back as version 2 with the default behaviour', () => {
    const v1 = parseRecord('askara-prod', JSON.stringify({ ...valid, schemaVersion: 1 }));
    expect(v1.schemaVersion).toBe(1);
    expect(behaviourOf(v1.provider!)).toEqual(DEFAULT_BEHAVIOUR);
    expect(JSON.parse(serializeRecord(v1)).schemaVersion).toBe(2);
  });

  it('keeps a version 2 record’s behaviour, granted scope, refresh-token expiry and provider fields', () => {
    const behaviour = {
      ...DEFAULT_BEHAVIOUR,
      response: { defaultExpiresInSeconds: 7200, keepFields: ['instance_url'] },
    };
    const v2 = {
      ...valid,
      schemaVersion: 2,
      provider: { ...valid.provider, profile: 'salesforce', behaviour },
      grantedScope: 'api refresh_token',
      refreshTokenExpiresAt: '2027-05-01T00:00:00.000Z',
      providerFields: { instance_url: 'https://example.my.salesforce.com' },
    };
    const parsed = parseRecord('askara-prod', JSON.stringify(v2));
    expect(parsed).toMatchObject(v2);
    expect(behaviourOf(parsed.provider!)).toEqual(behaviour);
  });

  it('keeps the placeholder at version 1: the stack writes it once and must never change it', () => {
    expect(placeholderRecord('x').schemaVersion).toBe(1);
  });

  it('names missing and invalid fields without echoing values', () => {
    const bad = { ...valid, status: 'sleepy', provider: { ...valid.provider, tokenEndpoint: 'ftp://x' } };
    let message = '';
    try {
      parseRecord('askara-prod', JSON.stringify(bad));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/status/);
    expect(message).toMatch(/provider\.tokenEndpoint/);
    expect(message).not.toContain('sleepy');
  });

  it('refuses a token endpoint by the endpoint rule, naming its code but not the URL', () => {
    const insecure = { ...valid, provider: { ...valid.provider, tokenEndpoint: 'http://idp.example/token' } };
    expect(() => parseRecord('askara-prod', JSON.stringify(insecure))).toThrow(
      /invalid fields: provider\.tokenEndpoint: invalid_format \(insecure_http\)$/,
    );
    const loopback = {
      ...valid,
      provider: { ...valid.provider, tokenEndpoint: 'http://127.0.0.1:8080/token' },
    };
    expect(parseRecord('askara-prod', JSON.stringify(loopback)).provider?.tokenEndpoint).toBe(
      'http://127.0.0.1:8080/token',
    );
  });

  it('rejects a record that names another connection', () => {
    expect(() => parseRecord('other', JSON.stringify(valid))).toThrow(/names another connection/);
  });

  it('never quotes a raw field value, not even the schema version or the connection it names', () => {
    const secret = 'rt-SECRET-0123456789abcdef';
    const messageOf = (raw: unknown, connection = 'askara-prod') => {
      try {
        parseRecord(connection, JSON.stringify(raw));
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected parseRecord to throw');
    };
    const messages = [
      messageOf({ ...valid, schemaVersion: secret }),
      messageOf({ ...valid, schemaVersion: { token: secret } }),
      messageOf({ ...valid, schemaVersion: 1.5 }),
      messageOf({ ...valid, connection: secret }),
      messageOf({ ...valid, status: secret }),
      messageOf({ ...valid, tokenType: '', expiresAt: secret }),
      messageOf({ ...valid, lastError: { class: secret, message: 7, at: secret } }),
    ];
    for (const message of messages) {
      expect(message).toMatch(/^connection "askara-prod" has an invalid record: /);
      expect(message).not.toContain(secret);
      expect(message).not.toContain('SECRET');
    }
    expect(messages[0]).toMatch(/unknown schemaVersion \(a string\)/);
    expect(messages[2]).toMatch(/unknown schemaVersion \(a number\)/);
  });
});

describe('placeholder records', () => {
  it('are valid, not active, and say how to connect', () => {
    const placeholder = placeholderRecord('askara-prod');
    const parsed = parseRecord('askara-prod', serializeRecord(placeholder));
    expect(parsed.status).toBe('reauth_required');
    expect(parsed.lastError?.message).toMatch(/token-refresher connect askara-prod/);
  });

  it('an active record must carry the provider and the refresh token', () => {
    const bare = { schemaVersion: 1, connection: 'c', status: 'active' };
    expect(() => parseRecord('c', JSON.stringify(bare))).toThrow(/provider.*refreshToken/);
  });
});

describe('docs/connection-record.md', () => {
  it('documents a valid version 2 record', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../../docs/connection-record.md', import.meta.url), 'utf8');
    const example = /```json\n(\{\n {2}"schemaVersion"[\s\S]*?\n\})\n```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const record = parseRecord('xero-acme', example!);
    expect(record.schemaVersion).toBe(RECORD_SCHEMA_VERSION);
    const { resolveProfile } = await import('../../../lambda/providers/profiles.js');
    expect(record.provider?.behaviour).toEqual(resolveProfile('xero').behaviour);
    // The example shows every top-level field but the optional providerFields.
    expect(Object.keys(record).sort()).toEqual(
      Object.keys(connectionRecordSchema.shape)
        .filter((field) => field !== 'providerFields')
        .sort(),
    );
  });

  it('has one row per field of the schema, and no other', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../../docs/connection-record.md', import.meta.url), 'utf8');
    const table = doc.slice(doc.indexOf('| Field'), doc.indexOf('## Schema versions'));
    const rows = [...table.matchAll(/^\| `([^`]+)`/gm)].map((match) => match[1]);
    const fields = [
      ...Object.keys(connectionRecordSchema.shape).flatMap((field) =>
        field === 'provider'
          ? Object.keys(providerSchema.shape).flatMap((inner) =>
              inner === 'behaviour'
                ? [
                    'provider.behaviour',
                    ...Object.keys(behaviourSchema.shape).map((b) => `provider.behaviour.${b}`),
                  ]
                : [`provider.${inner}`],
            )
          : field === 'refreshToken'
            ? ['refreshToken.ciphertext', 'refreshToken.keyId']
            : [field],
      ),
    ];
    expect([...rows].sort()).toEqual([...fields].sort());
  });
});
