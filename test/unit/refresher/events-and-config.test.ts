import { describe, expect, it } from 'vitest';
import { decodeRefresherEnvironment } from '../../../lambda/contract/refresher-environment.js';
import { parseEvent } from '../../../lambda/refresher/events.js';

describe('parseEvent', () => {
  it('treats an EventBridge scheduled event as a run over everything', async () => {
    await expect(
      parseEvent({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }),
    ).resolves.toEqual({ action: 'run' });
  });

  it('accepts an operator run naming connections, optionally forced', async () => {
    await expect(parseEvent({ action: 'run', connections: ['a'], force: true })).resolves.toEqual({
      action: 'run',
      connections: ['a'],
      force: true,
    });
    await expect(parseEvent({ action: 'run', force: false })).resolves.toEqual({
      action: 'run',
      force: false,
    });
    await expect(parseEvent({ action: 'run', connections: ['a'.repeat(128)] })).resolves.toMatchObject({
      connections: ['a'.repeat(128)],
    });
  });

  it('rejects anything else with a message that says what is expected', async () => {
    await expect(parseEvent({ action: 'explode' })).rejects.toThrow(/unrecognised event.*"action":"run"/);
    await expect(parseEvent({ action: 'run', connections: [] })).rejects.toThrow(/unrecognised event/);
    await expect(parseEvent(null)).rejects.toThrow(/unrecognised event/);
  });

  // A run is read by hand (events.ts) so a cold start loads no validation library: each
  // check it makes is pinned here.
  it.each([
    ['not an object', 'run'],
    ['an array', [{ action: 'run' }]],
    ['no action and not a scheduled event', { 'detail-type': 'Something Else' }],
    ['force not a boolean', { action: 'run', force: 'yes' }],
    ['connections not a list', { action: 'run', connections: 'a' }],
    [
      'more than 1000 connections',
      { action: 'run', connections: Array.from({ length: 1001 }, (_, i) => `c${i}`) },
    ],
  ])('refuses a run with %s as unrecognised', async (_case, event) => {
    await expect(parseEvent(event)).rejects.toThrow(/^unrecognised event/);
  });

  it.each([
    ['a name with a slash', ['a/b']],
    ['an empty name', ['']],
    ['a name too long', ['a'.repeat(129)]],
    ['a name that is not a string', [42]],
  ])('refuses a run naming %s with the naming rule, never the value', async (_case, connections) => {
    const refused = parseEvent({ action: 'run', connections: ['ok', ...connections] });
    await expect(refused).rejects.toThrow(/^invalid connection name: a connection name is 1 to 128/);
    await expect(refused).rejects.not.toThrow(/a\/b/);
  });

  it('accepts 1000 named connections', async () => {
    const connections = Array.from({ length: 1000 }, (_, i) => `c${i}`);
    await expect(parseEvent({ action: 'run', connections })).resolves.toMatchObject({ connections });
  });
});

describe('decodeRefresherEnvironment', () => {
  const base = { CONNECTION_PREFIX: 'token-refresher/', LEASE_TABLE_NAME: 't', REFRESH_TOKEN_KEY_ID: 'k' };

  it('applies the documented defaults', () => {
    const config = decodeRefresherEnvironment(base);
    expect(config.settings).toMatchObject({
      prefix: 'token-refresher/',
      refreshWindowMs: 600_000,
      minIntervalMs: 900_000,
      maxAgeMs: 86_400_000,
      requestTimeoutMs: 10_000,
      concurrency: 8,
      writesPerSecond: 25,
    });
  });

  it('reads overrides in seconds', () => {
    const config = decodeRefresherEnvironment({ ...base, REFRESH_WINDOW_SECONDS: '120', CONCURRENCY: '2' });
    expect(config.settings.refreshWindowMs).toBe(120_000);
    expect(config.settings.concurrency).toBe(2);
  });

  it('names every missing or invalid variable', () => {
    expect(() => decodeRefresherEnvironment({ CONCURRENCY: 'many' })).toThrow(
      /CONNECTION_PREFIX.*LEASE_TABLE_NAME.*REFRESH_TOKEN_KEY_ID.*CONCURRENCY/,
    );
    expect(() => decodeRefresherEnvironment({ ...base, MIN_INTERVAL_SECONDS: '-5' })).toThrow(
      /MIN_INTERVAL_SECONDS/,
    );
  });
});
