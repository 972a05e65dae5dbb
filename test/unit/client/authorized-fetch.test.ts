import { describe, expect, it } from 'vitest';
import { authorizationScheme, createAuthorizedFetch } from '../../../lambda/client/authorized-fetch.js';
import type { AccessToken, AccessTokenSource } from '../../../lambda/client/ports.js';

describe('authorized fetch', () => {
  it('sends every bearer-like token type as Bearer (the record keeps token_type as the provider sent it)', () => {
    for (const type of ['Bearer', 'bearer', 'bot', 'user']) expect(authorizationScheme(type)).toBe('Bearer');
    expect(authorizationScheme('DPoP')).toBe('DPoP');
  });

  it("uses the scheme, not Slack's token_type, in the Authorization header", async () => {
    const token = { accessToken: 'xoxb-at', tokenType: 'bot' } as AccessToken;
    const tokens = {
      getAccessToken: async () => token,
      refreshAfterUnauthorized: async () => token,
    } as unknown as AccessTokenSource;
    let seen: string | null = null;
    const fetchWith = createAuthorizedFetch(tokens, 'slack', async (_input, init) => {
      seen = new Headers(init?.headers).get('authorization');
      return new Response('ok');
    });
    await fetchWith('https://slack.com/api/auth.test');
    expect(seen).toBe('Bearer xoxb-at');
  });
});
