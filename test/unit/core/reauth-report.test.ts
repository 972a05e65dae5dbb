import { describe, expect, it } from 'vitest';
import type { LeaseState, Metrics } from '../../../lambda/core/ports.js';
import {
  REAUTH_REPORTED,
  REAUTH_REPORTED_LATE,
  reportReauthRequired,
  unreportedReauthCommit,
} from '../../../lambda/core/reauth-report.js';
import type { ConnectionRecord } from '../../../lambda/core/record.js';
import { clientRequestTokenFor } from '../../../lambda/core/write-protocol.js';

const SECRET = 'token-refresher/acme';
const successor = (versionId: string) => clientRequestTokenFor(SECRET, versionId);

const lease = (fields: Partial<LeaseState>): LeaseState => ({
  connection: 'acme',
  owner: 'o',
  leaseUntil: 0,
  ...fields,
});

const reauth: Pick<ConnectionRecord, 'status' | 'lastError'> = {
  status: 'reauth_required',
  lastError: { class: 'reauth_required', message: 'invalid_grant', at: '2030-01-01T00:00:00.000Z' },
};

describe('unreportedReauthCommit: a move to reauth_required that landed without its holder recording it', () => {
  it('is the commit from the marker’s version when the lease item does not name it', () => {
    // The sender of v1 committed reauth_required and died before releasing.
    const previous = lease({ sentFromVersionId: 'v1', lastCommit: { fromVersionId: 'v0', versionId: 'v1' } });
    expect(unreportedReauthCommit(previous, SECRET, successor('v1'), reauth)).toEqual({
      fromVersionId: 'v1',
      versionId: successor('v1'),
    });
  });

  it('is the commit from the last commit’s version too (no send in between)', () => {
    const previous = lease({ sentFromVersionId: 'v0', lastCommit: { fromVersionId: 'v0', versionId: 'v1' } });
    expect(unreportedReauthCommit(previous, SECRET, successor('v1'), reauth)).toEqual({
      fromVersionId: 'v1',
      versionId: successor('v1'),
    });
  });

  it('is nothing once a release recorded it: its holder reported before releasing', () => {
    const previous = lease({
      sentFromVersionId: 'v1',
      sentOutcome: 'committed',
      lastCommit: { fromVersionId: 'v1', versionId: successor('v1') },
    });
    expect(unreportedReauthCommit(previous, SECRET, successor('v1'), reauth)).toBeUndefined();
  });

  it('is nothing for a version no commit of ours created (an import, a placeholder, another writer)', () => {
    const previous = lease({ sentFromVersionId: 'v1' });
    expect(unreportedReauthCommit(previous, SECRET, 'created-by-the-cli', reauth)).toBeUndefined();
    expect(unreportedReauthCommit(undefined, SECRET, successor('v1'), reauth)).toBeUndefined();
    // Another connection's secret derives other ids.
    expect(
      unreportedReauthCommit(previous, 'token-refresher/other', successor('v1'), reauth),
    ).toBeUndefined();
  });

  it('is nothing for a record that is not a move to reauth_required', () => {
    const previous = lease({ sentFromVersionId: 'v1' });
    const active = { status: 'active' as const, lastError: null };
    expect(unreportedReauthCommit(previous, SECRET, successor('v1'), active)).toBeUndefined();
    const placeholder = {
      status: 'reauth_required' as const,
      lastError: { class: 'not_connected', message: 'not connected yet', at: '1970-01-01T00:00:00.000Z' },
    };
    expect(unreportedReauthCommit(previous, SECRET, successor('v1'), placeholder)).toBeUndefined();
  });
});

describe('reportReauthRequired', () => {
  function sinks() {
    const events: string[] = [];
    const metrics: Metrics = {
      add: (name) => events.push(`add ${name}`),
      flush: () => {
        events.push('flush');
      },
    };
    const logger = {
      warn: (message: string, fields?: Record<string, unknown>) =>
        events.push(`warn ${message} ${JSON.stringify(fields)}`),
    } as never;
    return { events, deps: { metrics, logger } };
  }

  it('logs the version, counts ReauthRequired and publishes it at once', async () => {
    const { events, deps } = sinks();
    await reportReauthRequired(deps, 'acme', 'v2');
    expect(events).toEqual([
      `warn ${REAUTH_REPORTED} {"connection":"acme","versionId":"v2"}`,
      'add ReauthRequired',
      'flush',
    ]);
  });

  it('says when it reports late, and which version the commit replaced', async () => {
    const { events, deps } = sinks();
    await reportReauthRequired(deps, 'acme', 'v2', { replacedVersionId: 'v1' });
    expect(events[0]).toContain(REAUTH_REPORTED_LATE);
    expect(events[0]).toContain('"replacedVersionId":"v1"');
    expect(events.slice(1)).toEqual(['add ReauthRequired', 'flush']);
  });

  it('never fails the caller when publishing fails', async () => {
    const { events, deps } = sinks();
    deps.metrics.flush = () => {
      throw new Error('stdout closed');
    };
    await expect(reportReauthRequired(deps, 'acme', 'v2')).resolves.toBeUndefined();
    expect(events.at(-1)).toContain('metrics could not be flushed');
  });
});
