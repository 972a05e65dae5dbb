import { describe, expect, it } from 'vitest';
import type { LeaseState, RescuedTokenSet } from '../../../lambda/core/ports.js';
import { mayResendUncertain, versionAccess } from '../../../lambda/core/version-access.js';

const lease = (fields: Partial<LeaseState>): LeaseState => ({
  connection: 'c',
  owner: 'o',
  leaseUntil: 0,
  ...fields,
});

const rescue = (fromVersionId: string): RescuedTokenSet => ({
  fromVersionId,
  issuedAt: '2027-01-01T00:00:00.000Z',
  expiresAt: '2027-01-01T01:00:00.000Z',
  tokenType: 'Bearer',
  expiresIn: 3600,
  refreshToken: { ciphertext: 'x', keyId: 'k' },
});

describe('versionAccess: what a holder may do with the AWSCURRENT version it read', () => {
  it('is free with no lease history, or a marker and commit about other versions', () => {
    expect(versionAccess(undefined, 'v1')).toEqual({ kind: 'free' });
    expect(
      versionAccess(
        lease({
          sentFromVersionId: 'v0',
          sentOutcome: 'unsaved',
          lastCommit: { fromVersionId: 'v0', versionId: 'v1' },
        }),
        'v1',
      ),
    ).toEqual({ kind: 'free' });
  });

  it('restores a rescue from this very version before anything else', () => {
    const state = lease({ rescue: rescue('v1'), sentFromVersionId: 'v1', sentOutcome: 'rescued' });
    expect(versionAccess(state, 'v1')).toEqual({ kind: 'restore', rescue: rescue('v1') });
    // A rescue from another version says nothing about this one.
    expect(versionAccess(lease({ rescue: rescue('v0') }), 'v1')).toEqual({ kind: 'free' });
  });

  it('calls a read of a version that a commit replaced stale, whoever committed', () => {
    const committed = lease({ lastCommit: { fromVersionId: 'v1', versionId: 'v2' } });
    expect(versionAccess(committed, 'v1')).toEqual({ kind: 'stale', replacedBy: 'v2' });
    // A sender whose answer was committed: its version is replaced too, even if a later
    // commit (a status change) moved lastCommit on.
    const sentAndMovedOn = lease({
      sentFromVersionId: 'v1',
      sentOutcome: 'committed',
      lastCommit: { fromVersionId: 'v2', versionId: 'v3' },
    });
    expect(versionAccess(sentAndMovedOn, 'v1')).toEqual({ kind: 'stale', replacedBy: 'v3' });
  });

  it('refuses a version whose answered token set is not in the record', () => {
    expect(versionAccess(lease({ sentFromVersionId: 'v1', sentOutcome: 'unsaved' }), 'v1')).toEqual({
      kind: 'spent',
    });
    // Rescued, with the rescue gone (discarded by hand): the answer is not in the record either.
    expect(versionAccess(lease({ sentFromVersionId: 'v1', sentOutcome: 'rescued' }), 'v1')).toEqual({
      kind: 'spent',
    });
  });

  it('is uncertain after a lost answer, and interrupted when the sender never released', () => {
    expect(versionAccess(lease({ sentFromVersionId: 'v1', sentOutcome: 'ambiguous' }), 'v1')).toEqual({
      kind: 'uncertain',
      interrupted: false,
    });
    expect(versionAccess(lease({ sentFromVersionId: 'v1' }), 'v1')).toEqual({
      kind: 'uncertain',
      interrupted: true,
    });
  });

  it('is free when the marked send was refused without being processed', () => {
    expect(versionAccess(lease({ sentFromVersionId: 'v1', sentOutcome: 'not_sent' }), 'v1')).toEqual({
      kind: 'free',
    });
  });
});

describe('mayResendUncertain: the ambiguous-answer policy', () => {
  const t0 = Date.parse('2027-01-01T00:00:00.000Z');
  const margin = 10_000;
  /** A rotating provider with this reuse window. */
  const rotating = (reuseWindowSeconds: number) => ({ model: 'rotating' as const, reuseWindowSeconds });

  it('the documented retry: a token sent once may go once more (a window provider: inside its window)', () => {
    expect(mayResendUncertain({ sentAt: t0, sentAttempts: 1 }, rotating(0), t0 + 3_600_000, margin)).toBe(
      true,
    );
    // A marker written before the count existed counts as one send.
    expect(mayResendUncertain({}, rotating(0), t0, margin)).toBe(true);
    // Past a reuse window even the documented retry would be a reuse (Xero answers it as theft).
    expect(mayResendUncertain({ sentAt: t0, sentAttempts: 1 }, rotating(1800), t0 + 1_789_000, margin)).toBe(
      true,
    );
    expect(mayResendUncertain({ sentAt: t0, sentAttempts: 1 }, rotating(1800), t0 + 1_790_000, margin)).toBe(
      false,
    );
    // Without the first send's time, the documented retry as at any provider.
    expect(mayResendUncertain({ sentAttempts: 1 }, rotating(1800), t0, margin)).toBe(true);
  });

  it('a strict provider (no reuse window): no blind retry beyond it', () => {
    expect(mayResendUncertain({ sentAt: t0, sentAttempts: 2 }, rotating(0), t0 + 1_000, margin)).toBe(false);
    // A provider whose rotation is a setting may have rotated: strict too.
    expect(
      mayResendUncertain(
        { sentAt: t0, sentAttempts: 2 },
        { model: 'optional', reuseWindowSeconds: 0 },
        t0 + 1_000,
        margin,
      ),
    ).toBe(false);
  });

  it("within the provider's reuse window (Xero, 1800 s), counted from the first send, with the request's margin", () => {
    const marker = { sentAt: t0, sentAttempts: 5 };
    expect(mayResendUncertain(marker, rotating(1800), t0 + 1_789_000, margin)).toBe(true);
    expect(mayResendUncertain(marker, rotating(1800), t0 + 1_790_000, margin)).toBe(false);
    expect(mayResendUncertain({ sentAttempts: 2 }, rotating(1800), t0, margin)).toBe(false);
  });

  it('a provider that never rotates (Google, HubSpot): a retry is safe whatever the reuse window', () => {
    const staticProvider = { model: 'static' as const, reuseWindowSeconds: 0 };
    expect(mayResendUncertain({ sentAt: t0, sentAttempts: 7 }, staticProvider, t0 + 86_400_000, margin)).toBe(
      true,
    );
    expect(mayResendUncertain({ sentAttempts: 2 }, staticProvider, t0, margin)).toBe(true);
  });

  it('versionAccess carries the marker facts to the policy', () => {
    expect(
      versionAccess(
        lease({ sentFromVersionId: 'v1', sentOutcome: 'ambiguous', sentAt: t0, sentAttempts: 2 }),
        'v1',
      ),
    ).toEqual({ kind: 'uncertain', interrupted: false, sentAt: t0, sentAttempts: 2 });
  });
});
