import { describe, expect, it } from 'vitest';
import { checkEndpointUrl } from '../../../cli/commands/connect.js';
import { isLoopbackHost, parseEndpointUrl } from '../../../lambda/core/endpoint-url.js';
import { providerSchema } from '../../../lambda/core/record.js';
import { ACCEPTED_ENDPOINTS, REFUSED_ENDPOINTS } from '../../support/endpoint-urls.js';

const provider = (tokenEndpoint: string) => ({
  tokenEndpoint,
  dialect: 'form',
  clientAuth: 'client_secret_post',
  clientCredentialsSecretId: 'clients/x',
});

describe('parseEndpointUrl', () => {
  it.each(REFUSED_ENDPOINTS)('refuses %s with %s, without echoing the URL', (raw, code) => {
    const result = parseEndpointUrl(raw, 'the token endpoint');
    expect(result).toMatchObject({ ok: false, code });
    if (result.ok) return;
    expect(result.description).toMatch(/^the token endpoint /);
    expect(result.description).not.toContain('idp.example');
    expect(result.description).not.toContain('pass');
  });

  it.each(ACCEPTED_ENDPOINTS)('accepts %s', (raw) => {
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

/**
 * Every user of the rule takes the same decision for the same URL. The HTTP adapter runs
 * the same tables in test/integration/adapters/http-token-endpoint.test.ts (refused
 * without any network traffic; accepted and sent).
 */
describe('one rule for the record schema and the CLI', () => {
  it.each(REFUSED_ENDPOINTS)('%s (%s) is refused by both', (raw, code) => {
    const parsed = providerSchema.safeParse(provider(raw));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({ path: ['tokenEndpoint'], code: 'invalid_format', format: code }),
    ]);
    expect(() => checkEndpointUrl('--token-endpoint', raw, true)).toThrow(/^--token-endpoint /);
  });

  it.each(ACCEPTED_ENDPOINTS)('%s is accepted by both', (raw) => {
    expect(providerSchema.safeParse(provider(raw)).success).toBe(true);
    expect(checkEndpointUrl('--token-endpoint', raw, true)).toBe(new URL(raw).href);
  });

  it('the CLI accepts plain http to loopback only with --allow-insecure-localhost', () => {
    expect(() => checkEndpointUrl('--issuer', 'http://127.0.0.1:9000/', false)).toThrow(
      /^--issuer must use https \(plain http to localhost needs --allow-insecure-localhost\)$/,
    );
    expect(checkEndpointUrl('--issuer', 'https://idp.example/', false)).toBe('https://idp.example/');
  });
});
