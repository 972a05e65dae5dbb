import { describe, expect, it } from 'vitest';
import { keptProviderFields, safeProviderField } from '../../../lambda/adapters/http/provider-fields.js';

describe('kept provider fields: never a value that looks like a secret', () => {
  it('keeps URLs, ids and timestamps', () => {
    for (const value of [
      'https://example.my.salesforce.com',
      'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
      '1278448384422',
      'U0KRQLJ9H',
    ]) {
      expect(safeProviderField('field', value, [])).toBe(true);
    }
  });

  it('refuses names that say secret, JWTs (short ones too), opaque strings and credential parameters', () => {
    expect(safeProviderField('signature', 'abc', [])).toBe(false);
    expect(safeProviderField('id_token', 'abc', [])).toBe(false);
    expect(safeProviderField('f', 'eyJhbGci.eyJzdWIi.sig', [])).toBe(false);
    expect(safeProviderField('f', 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MDEyMzQ1Njc4OTA', [])).toBe(false);
    expect(safeProviderField('f', 'https://x.example/cb?code=abc', [])).toBe(false);
    expect(safeProviderField('f', 'x'.repeat(513), [])).toBe(false);
    expect(safeProviderField('f', 'line\nbreak', [])).toBe(false);
  });

  it("refuses a value that holds one of the response's tokens, or a piece of one", () => {
    const secrets = ['at-long-enough-0123456789'];
    expect(safeProviderField('f', 'prefix at-long-enough-0123456789', secrets)).toBe(false);
    expect(safeProviderField('f', 'long-enough-0123', secrets)).toBe(false);
    expect(
      keptProviderFields({ access_token: secrets[0], echo: `x ${secrets[0]}`, ok: 'fine' }, ['echo', 'ok']),
    ).toEqual({
      ok: 'fine',
    });
  });
});
