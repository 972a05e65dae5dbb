import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../../lambda/core/classify.js';
import { DEFAULT_BEHAVIOUR } from '../../../lambda/core/provider-behaviour.js';
import { resolveProfile } from '../../../lambda/providers/profiles.js';

/** Error codes as the connection's provider documents them (`lambda/providers/profiles.json`). */
describe('classifyFailure: the profile names each code’s class', () => {
  const slack = resolveProfile('slack').behaviour;
  const ratelimited = { kind: 'oauth_error', status: 200, error: 'ratelimited' } as const;

  it('a code the profile documents as temporary is transient, even inside a 200 (Slack ratelimited)', () => {
    expect(slack.errors.transientCodes).toEqual(['ratelimited']);
    expect(classifyFailure(ratelimited, slack)).toMatchObject({
      failureClass: 'transient',
      mayHaveConsumedToken: false,
    });
  });

  it('without the profile the same answer is a configuration error (the client was refused)', () => {
    expect(classifyFailure(ratelimited, DEFAULT_BEHAVIOUR).failureClass).toBe('configuration');
  });

  it('a dead-token code still wins, and a configuration code stays one', () => {
    expect(
      classifyFailure({ kind: 'oauth_error', status: 200, error: 'invalid_refresh_token' }, slack)
        .failureClass,
    ).toBe('reauth_required');
    expect(
      classifyFailure({ kind: 'oauth_error', status: 200, error: 'bad_client_secret' }, slack).failureClass,
    ).toBe('configuration');
  });
});
