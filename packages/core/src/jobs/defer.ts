import { CircuitOpenError } from '../outbound/circuit-breaker.js';

/**
 * Thrown by a job handler to put its job back in the queue for `delayMs` without
 * spending an attempt: the work is neither dropped nor retried in a tight loop
 * (a destination whose circuit breaker is open, a provider's `Retry-After`).
 */
export class JobDeferral extends Error {
  override readonly name = 'JobDeferral';
  constructor(
    readonly delayMs: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** `throw deferJob(30_000, 'smtp circuit open')` from a handler. */
export function deferJob(delayMs: number, reason: string): JobDeferral {
  return new JobDeferral(Math.max(0, Math.floor(delayMs)), reason);
}

/** The delay a failed run asks for when it is a deferral (a `JobDeferral` or an open circuit), else undefined. */
export function deferralOf(error: unknown): { delayMs: number; reason: string } | undefined {
  if (error instanceof JobDeferral) return { delayMs: error.delayMs, reason: error.message };
  if (error instanceof CircuitOpenError) return { delayMs: Math.max(100, error.retryAfterMs), reason: error.message };
  return undefined;
}
