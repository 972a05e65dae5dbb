import { describe, expect, it, vi } from 'vitest';
import { checkEndpointUrl } from '../../../cli/commands/connect.js';
import { HttpTokenEndpoint, LOCAL_ERROR } from '../../../lambda/adapters/http-token-endpoint.js';
import {
  type EndpointUrlErrorCode,
  isLoopbackHost,
  parseEndpointUrl,
} from '../../../lambda/core/endpoint-url.js';
import { providerSchema } from '../../../lambda/core/record.js';

const REFUSED: [string, EndpointUrlErrorCode][] = [
  ['not a url', 'not_a_url'],
  ['/relative/token', 'not_a_url'],
  ['ftp://idp.example/token', 'unsupported_scheme'],
  ['file:///etc/passwd', 'unsupported_scheme'],
  ['http://idp.example/token', 'insecure_http'],
  ['http://128.0.0.1/token', 'insecure_http'],
  ['http://localhost.idp.example/token', 'insecure_http'],
  ['http://[::2]/token', 'insecure_http'],
  ['http://10.0.0.1/token', 'insecure_http'],
  ['https://user:pass@idp.example/token', 'credentials_in_url'],
  ['https://user@idp.example/token', 'credentials_in_url'],
  ['https://idp.example/token#frag', 'fragment_in_url'],
];

const ACCEPTED = [
  'https://idp.example/token',
  'https://idp.example:8443/oauth2/token?tenant=a',
  'http://127.0.0.1:8080/token',
  'http://127.1.2.3/token',
  'http://127.1/token',
  'http://localhost:3000/token',
  'http://LOCALHOST/token',
  'http://[::1]:3000/token',
];

const provider = (tokenEndpoint: string) => ({
  tokenEndpoint,
  dialect: 'form',
  clientAuth: 'client_secret_post',
  clientCredentialsSecretId: 'clients/x',
});

describe('parseEndpointUrl', () => {
  it.each(REFUSED)('refuses %s with %s, without echoing the URL', (raw, code) => {
    const result = parseEndpointUrl(raw, 'the token endpoint');
    expect(result).toMatchObject({ ok: false, code });
    if (result.ok) return;
    expect(result.description).toMatch(/^the token endpoint /);
    expect(result.description).not.toContain('idp.example');
    expect(result.description).not.toContain('pass');
  });

  it.each(ACCEPTED)('accepts %s', (raw) => {
    const result = parseEndpointUrl(raw);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.url).toBeInstanceOf(URL);
  });

  it('knows loopback hosts in the URL parser canonical form', () => {
    for (const host of ['localhost', '127.0.0.1', '127.255.0.9', '[::1]'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['128.0.0.1', '[::2]', 'localhost.example', '10.0.0.1', '127.0.0.1.example']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

/** Every user of the rule takes the same decision for the same URL. */
describe('one rule for the record, the HTTP adapter and the CLI', () => {
  const adapterOutcome = async (raw: string) => {
    const fetchSpy = vi.fn<typeof fetch>(async () =>
      Response.json({ access_token: 'a', token_type: 'Bearer', expires_in: 60 }),
    );
    const outcome = await new HttpTokenEndpoint({ fetch: fetchSpy }).refresh({
      tokenEndpoint: raw,
      dialect: 'form',
      clientAuth: 'client_secret_post',
      credentials: { clientId: 'id', clientSecret: 'secret' },
      refreshToken: 'refresh-token',
      timeoutMs: 1_000,
    });
    return { outcome, sent: fetchSpy.mock.calls.length > 0 };
  };

  it.each(REFUSED)('%s (%s) is refused by all three', async (raw, code) => {
    const parsed = providerSchema.safeParse(provider(raw));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({ path: ['tokenEndpoint'], code: 'invalid_format', format: code }),
    ]);

    const { outcome, sent } = await adapterOutcome(raw);
    expect(sent).toBe(false);
    expect(outcome).toMatchObject({
      kind: 'oauth_error',
      status: 0,
      error: code === 'insecure_http' ? LOCAL_ERROR.insecureEndpoint : LOCAL_ERROR.invalidEndpoint,
    });

    expect(() => checkEndpointUrl('--token-endpoint', raw, true)).toThrow(/^--token-endpoint /);
  });

  it.each(ACCEPTED)('%s is accepted by all three', async (raw) => {
    expect(providerSchema.safeParse(provider(raw)).success).toBe(true);
    const { outcome, sent } = await adapterOutcome(raw);
    expect(sent).toBe(true);
    expect(outcome.kind).toBe('tokens');
    expect(checkEndpointUrl('--token-endpoint', raw, true)).toBe(new URL(raw).href);
  });

  it('the CLI accepts plain http to loopback only with --allow-insecure-localhost', () => {
    expect(() => checkEndpointUrl('--issuer', 'http://127.0.0.1:9000/', false)).toThrow(
      /^--issuer must use https \(plain http to localhost needs --allow-insecure-localhost\)$/,
    );
    expect(checkEndpointUrl('--issuer', 'https://idp.example/', false)).toBe('https://idp.example/');
  });
});
