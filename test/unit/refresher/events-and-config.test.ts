import { describe, expect, it } from 'vitest';
import { decodeRefresherEnvironment } from '../../../lambda/contract/refresher-environment.js';
import { parseEvent } from '../../../lambda/refresher/events.js';

describe('parseEvent', () => {
  it('treats an EventBridge scheduled event as a run over everything', () => {
    expect(parseEvent({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} })).toEqual({
      action: 'run',
    });
  });

  it('accepts an operator run naming connections, optionally forced', () => {
    expect(parseEvent({ action: 'run', connections: ['a'], force: true })).toEqual({
      action: 'run',
      connections: ['a'],
      force: true,
    });
  });

  it('rejects anything else with a message that says what is expected', () => {
    expect(() => parseEvent({ action: 'explode' })).toThrow(/unrecognised event.*"action":"run"/);
    expect(() => parseEvent({ action: 'run', connections: [] })).toThrow(/unrecognised event/);
    expect(() => parseEvent(null)).toThrow(/unrecognised event/);
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
