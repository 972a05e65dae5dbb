import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../core/ports.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms) => {
    if (ms > 0) await sleep(ms);
  },
};
