/**
 * Terminology
 * - bucket: one limit applied to one caller (`ip:203.0.113.9`, `user:u_1` on a route...).
 * - rate: `limit` requests per `periodMs`; a caller may spend all of them at once (burst = limit).
 * - TAT (theoretical arrival time): GCRA's only state per bucket, the time at which the bucket
 *   would be full again. A request is allowed while `TAT + cost·interval - period <= now`.
 *
 * This file holds the arithmetic shared by the memory store; the Redis store runs the same
 * steps in Lua (`redis-store.ts`), so both answer alike.
 */

export interface Rate {
  /** Requests allowed per period (and at once, as a burst). */
  limit: number;
  /** Length of the period in ms. */
  periodMs: number;
}

export interface BucketCheck {
  /** Full store key of the bucket. */
  key: string;
  rate: Rate;
}

export interface BucketOutcome {
  allowed: boolean;
  /** Requests still allowed right now after this one (0 when rejected). */
  remaining: number;
  /** ms until the bucket is full again. */
  resetMs: number;
  /** ms until a rejected request would be allowed (0 when allowed). */
  retryAfterMs: number;
}

export interface GcraStep {
  outcome: BucketOutcome;
  /** The TAT to store when every bucket of the request allowed it. */
  newTat: number;
}

/** One GCRA step for one bucket at `now`, given its stored TAT (or `undefined`). */
export function gcraStep(storedTat: number | undefined, rate: Rate, now: number, cost = 1): GcraStep {
  const interval = rate.periodMs / rate.limit;
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const newTat = tat + interval * cost;
  const allowAt = newTat - rate.periodMs;
  if (allowAt > now) {
    return { outcome: { allowed: false, remaining: 0, resetMs: Math.ceil(tat - now), retryAfterMs: Math.ceil(allowAt - now) }, newTat: tat };
  }
  const remaining = Math.max(0, Math.floor((rate.periodMs - (newTat - now)) / interval + 1e-9));
  return { outcome: { allowed: true, remaining, resetMs: Math.ceil(newTat - now), retryAfterMs: 0 }, newTat };
}
