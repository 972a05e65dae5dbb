import { describe, expect, it } from 'vitest';
import { checkCredentialsBinding, checkTokenEndpoint, originOf } from '../../../lambda/core/token-origin.js';

const pinned = { allowedTokenOrigins: ['https://API.askara.ai:443/'], allowInsecureLoopback: false };

describe('checkTokenEndpoint', () => {
  it('allows an endpoint whose origin is listed, however the list spells it', () => {
    expect(checkTokenEndpoint('https://api.askara.ai/v1/oauth/token?tenant=a', pinned)).toEqual({
      ok: true,
      origin: 'https://api.askara.ai',
    });
  });

  it.each([
    ['another host', 'https://api.askara.ai.evil.example/PATH-SECRET', 'https://api.askara.ai.evil.example'],
    ['another port', 'https://api.askara.ai:8443/x?q=PATH-SECRET', 'https://api.askara.ai:8443'],
    ['plain http', 'http://api.askara.ai/PATH-SECRET', undefined],
    ['the Lambda Runtime API', 'http://127.0.0.1:9001/PATH-SECRET/runtime', 'http://127.0.0.1:9001'],
  ])('refuses %s, naming the origin and the setting but not the path', (_label, url, origin) => {
    const check = checkTokenEndpoint(url, pinned);
    expect(check.ok).toBe(false);
    const message = check.ok ? '' : check.message;
    if (origin)
      expect(message).toContain(`origin ${origin} is not in allowedTokenOrigins (https://api.askara.ai)`);
    expect(message).toContain('nothing was sent');
    expect(message).not.toContain('PATH-SECRET');
  });

  it('allows plain http only to a listed loopback origin, and only with the test-only switch', () => {
    const local = { allowedTokenOrigins: ['http://127.0.0.1:8080'], allowInsecureLoopback: false };
    expect(checkTokenEndpoint('http://127.0.0.1:8080/token', local)).toMatchObject({
      ok: false,
      message: expect.stringContaining('allowInsecureLoopback'),
    });
    expect(
      checkTokenEndpoint('http://127.0.0.1:8080/token', { ...local, allowInsecureLoopback: true }),
    ).toEqual({
      ok: true,
      origin: 'http://127.0.0.1:8080',
    });
    expect(
      checkTokenEndpoint('http://127.0.0.1:8081/token', { ...local, allowInsecureLoopback: true }).ok,
    ).toBe(false);
  });
});

describe('checkCredentialsBinding', () => {
  it('allows only the origins the credentials are bound to', () => {
    const bound = { tokenEndpointOrigins: ['https://api.askara.ai'] };
    expect(checkCredentialsBinding('https://api.askara.ai', bound, 'clients/a').ok).toBe(true);
    expect(checkCredentialsBinding('https://eu.askara.ai', bound, 'clients/a')).toMatchObject({
      ok: false,
      message: expect.stringContaining('"clients/a" is bound to https://api.askara.ai'),
    });
  });

  it('refuses credentials without a binding, saying what to add', () => {
    expect(checkCredentialsBinding('https://api.askara.ai', {}, 'clients/a')).toMatchObject({
      ok: false,
      message: expect.stringContaining('"token_endpoint_origins": ["https://api.askara.ai"]'),
    });
  });
});

describe('originOf', () => {
  it('normalizes case and default ports, and has no origin for what is not a URL', () => {
    expect(originOf('HTTPS://Api.Askara.AI:443/x')).toBe('https://api.askara.ai');
    expect(originOf('not a url')).toBeUndefined();
    expect(originOf('data:text/plain,x')).toBeUndefined();
  });
});
