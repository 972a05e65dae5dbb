import { describe, expect, it } from 'vitest';
import { parseClientCredentials } from '../../../lambda/core/client-credentials.js';
import { InvalidClientCredentialsError } from '../../../lambda/core/errors.js';

const SECRET_ID = 'token-refresher-clients/askara';
const CLIENT_SECRET = 'cs-value-never-logged';

function failure(raw: string): InvalidClientCredentialsError {
  try {
    parseClientCredentials(SECRET_ID, raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidClientCredentialsError);
    const e = error as InvalidClientCredentialsError;
    expect(e.secretId).toBe(SECRET_ID);
    expect(e.message).toContain(SECRET_ID);
    expect(e.message).not.toContain(CLIENT_SECRET);
    return e;
  }
  throw new Error('expected parseClientCredentials to throw');
}

describe('parseClientCredentials', () => {
  it('maps client_id and client_secret, ignoring other keys', () => {
    const raw = JSON.stringify({ client_id: 'app-1', client_secret: CLIENT_SECRET, note: 'x' });
    expect(parseClientCredentials(SECRET_ID, raw)).toEqual({
      clientId: 'app-1',
      clientSecret: CLIENT_SECRET,
    });
  });

  it('reads the origins the client secret is bound to, and leaves them out of a secret without the field', () => {
    const origins = ['https://api.askara.ai', 'https://eu.api.askara.ai:8443'];
    const raw = JSON.stringify({
      client_id: 'app-1',
      client_secret: CLIENT_SECRET,
      token_endpoint_origins: origins,
    });
    expect(parseClientCredentials(SECRET_ID, raw).tokenEndpointOrigins).toEqual(origins);
    const legacy = JSON.stringify({ client_id: 'app-1', client_secret: CLIENT_SECRET });
    expect(parseClientCredentials(SECRET_ID, legacy).tokenEndpointOrigins).toBeUndefined();
  });

  it('rejects a binding that is not a list of origins', () => {
    for (const origins of [
      [],
      'https://api.askara.ai',
      ['https://api.askara.ai/token'],
      ['*'],
      [42],
      ['ftp://x'],
    ]) {
      const raw = JSON.stringify({
        client_id: 'app-1',
        client_secret: CLIENT_SECRET,
        token_endpoint_origins: origins,
      });
      expect(failure(raw).message).toMatch(/invalid "token_endpoint_origins"/);
    }
  });

  it('rejects a value that is not JSON, without echoing it', () => {
    expect(failure(`client_secret=${CLIENT_SECRET}`).message).toMatch(/not valid JSON/);
  });

  it('rejects JSON that is not an object', () => {
    expect(failure(JSON.stringify([CLIENT_SECRET])).message).toMatch(/not a JSON object/);
    expect(failure('null').message).toMatch(/not a JSON object/);
  });

  it('names a missing field', () => {
    expect(failure(JSON.stringify({ client_secret: CLIENT_SECRET })).message).toMatch(/missing "client_id"/);
    expect(failure(JSON.stringify({ client_id: 'app-1' })).message).toMatch(/missing "client_secret"/);
    const both = failure('{}').message;
    expect(both).toMatch(/client_id/);
    expect(both).toMatch(/client_secret/);
  });

  it('names an empty or non-string field without its value', () => {
    expect(failure(JSON.stringify({ client_id: 'app-1', client_secret: '' })).message).toMatch(
      /empty "client_secret"/,
    );
    expect(failure(JSON.stringify({ client_id: 42, client_secret: CLIENT_SECRET })).message).toMatch(
      /non-string "client_id"/,
    );
    expect(failure(JSON.stringify({ clientId: 'app-1', clientSecret: CLIENT_SECRET })).message).toMatch(
      /missing "client_id"/,
    );
  });
});
