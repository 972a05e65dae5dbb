import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../../lambda/core/budget.js';
import { clientRequestTokenFor } from '../../../lambda/core/write-protocol.js';

describe('clientRequestTokenFor', () => {
  it('is deterministic per secret and replaced version, and fits Secrets Manager (32-64 chars)', () => {
    const a = clientRequestTokenFor('p/c', 'v1');
    expect(a).toBe(clientRequestTokenFor('p/c', 'v1'));
    expect(a).not.toBe(clientRequestTokenFor('p/c', 'v2'));
    expect(a).not.toBe(clientRequestTokenFor('p/d', 'v1'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('backoffDelayMs', () => {
  it('stays within the doubling ceiling and the cap', () => {
    expect(backoffDelayMs(0, 500, 5000, () => 0.999)).toBe(499);
    expect(backoffDelayMs(3, 500, 5000, () => 0.999)).toBe(3996);
    expect(backoffDelayMs(10, 500, 5000, () => 0.999)).toBe(4995);
    expect(backoffDelayMs(10, 500, 5000, () => 0)).toBe(0);
  });
});
