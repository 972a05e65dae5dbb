import { describe, expect, it } from 'vitest';
import { readConsumerView } from '../../../lambda/client/consumer-record.js';

describe('readConsumerView: the part of a record a consumer reads', () => {
  const fields = {
    status: 'active',
    accessToken: 'at-value',
    tokenType: 'Bearer',
    expiresAt: '2027-01-01T00:00:00Z',
  };

  it('reads schema versions 1 and 2 (version 2 only added fields)', () => {
    for (const schemaVersion of [1, 2]) {
      expect(
        readConsumerView('c', JSON.stringify({ schemaVersion, ...fields, grantedScope: 'a b' })),
      ).toMatchObject({
        status: 'active',
        accessToken: 'at-value',
        expiresAt: Date.parse('2027-01-01T00:00:00Z'),
      });
    }
  });

  it('refuses a version it does not know', () => {
    expect(() => readConsumerView('c', JSON.stringify({ schemaVersion: 3, ...fields }))).toThrow(
      /unsupported schemaVersion 3/,
    );
  });
});
