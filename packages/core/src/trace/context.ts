import { randomBytes } from 'node:crypto';
import { createAsyncSlot } from '../async-slot.js';

/**
 * W3C Trace Context carried from a request (or a job) to the outbox events and
 * jobs it creates: `emit()` and `jobs.enqueue()` store the current
 * `traceparent` on their rows; a worker continues the trace with a new span.
 *
 * The server sets it around handlers of writing methods, the worker around jobs.
 */
const current = createAsyncSlot<string>();

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Runs `fn` with `traceparent` as the current trace context. */
export async function runWithTrace<T>(traceparent: string | undefined | null, fn: () => T | Promise<T>): Promise<T> {
  if (!traceparent || !TRACEPARENT.test(traceparent)) return fn();
  return current.run(traceparent, fn);
}

/** The `traceparent` of the request or job being served, if any. */
export function currentTraceparent(): string | undefined {
  return current.get();
}

/** The trace id of a `traceparent`, or `undefined` when it is not a valid version-00 one. */
export function traceIdOf(traceparent: string | null | undefined): string | undefined {
  return traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
}

/** A child of `traceparent`: the same trace and flags, a new span id. */
export function childTraceparent(traceparent: string): string | undefined {
  const m = TRACEPARENT.exec(traceparent);
  return m ? `00-${m[1]}-${randomBytes(8).toString('hex')}-${m[3]}` : undefined;
}
