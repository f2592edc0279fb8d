import type { Backoff } from './types.js';

const DEFAULT_BASE_MS = 1000;
const DEFAULT_MAX_MS = 3_600_000;

/**
 * Delay before the next attempt after attempt `attempt` failed. Exponential
 * (`base · 2^(attempt-1)`, capped) with "equal jitter": a random point in the upper
 * half, so delays spread out yet never shrink from one attempt to the next.
 */
export function retryDelayMs(backoff: Backoff | undefined, attempt: number, random: () => number = Math.random): number {
  if (typeof backoff === 'function') return Math.max(0, Math.floor(backoff(attempt)));
  const base = backoff?.baseMs ?? DEFAULT_BASE_MS;
  const max = backoff?.maxMs ?? DEFAULT_MAX_MS;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}
