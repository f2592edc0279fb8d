/**
 * Terminology of the job queue.
 *
 * - job: one unit of background work, a row of `plinth_jobs`: a declared **type**, a JSON
 *   **payload**, a **queue** (default `default`), a **priority** (higher runs first) and
 *   **runAt** (not before). Enqueued inside a transaction, it commits with the business write.
 * - state: `queued` (waiting for `runAt`, or for a retry) → `running` → `completed`; a failure
 *   goes back to `queued` with a backoff delay until `maxAttempts`, then `dead` (kept for
 *   inspection and manual retry). `cancelled` ends a queued job.
 * - claim: a worker takes due jobs in one statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL)
 *   and holds each under a **lease** (`lockedUntil`), renewed by heartbeats. A lease that runs
 *   out (the worker died) puts the job back: another worker runs it again.
 * - attempt: 1 for the first run, counting every claim, takeovers included.
 * - unique key: at most one queued or running job per key; enqueueing another answers the existing job.
 * - ordering key: jobs with the same ordering key run one at a time, in `orderSeq` order
 *   (the outbox dispatcher uses it to keep an aggregate's events in order per subscriber).
 * - subscriber: a module's declaration that an outbox event type becomes a job of some type,
 *   once per event, after the event's transaction commits.
 * - schedule: a job type with a `cron` expression; one job per tick across all workers.
 */
import type { z } from 'zod';
import type { KernelContext } from '../module.js';
import type { Logger } from '../logger.js';

export const jobStates = ['queued', 'running', 'completed', 'dead', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];

/** What a job handler is given. */
export interface JobContext<P = unknown> {
  /** The validated payload. */
  payload: P;
  /** 1 on the first run; a retry or a takeover after a crash counts as the next attempt. */
  attempt: number;
  /** Attempts this job may use before it is dead-lettered. */
  maxAttempts: number;
  jobId: string;
  /** The job type. */
  type: string;
  /** The kernel (handlers run outside any transaction; open one with `kernel.transaction`). */
  kernel: KernelContext;
  /** Aborted when the job times out or the worker stops and gives up waiting. */
  signal: AbortSignal;
  log: Logger;
  /** The trace this run belongs to (continued from the request or event that created the job), if any. */
  trace: { traceId: string; traceparent: string } | undefined;
}

/** Delay before retry number `attempt` (the attempt that failed), in ms, or `{ baseMs, maxMs }` of exponential backoff with jitter. */
export type Backoff = ((attempt: number) => number) | { baseMs?: number; maxMs?: number };

/**
 * A job type a module declares in `defineModule({ jobs: { ... } })`.
 * Handlers must be idempotent: a job can run more than once (a worker that dies after the
 * work but before recording it, a lease that ran out). Handlers run outside any transaction.
 */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  handler(ctx: JobContext<z.output<S>>): Promise<unknown> | unknown;
  /** Payload schema, checked when the job is enqueued and again before it runs; default: any JSON. */
  payload?: S;
  /** Attempts before the job is dead-lettered; default `jobs.maxAttempts` (5). */
  maxAttempts?: number;
  /** Queue of this type's jobs; default `default`. */
  queue?: string;
  /** Retry delay; default exponential from 1 s, doubling, capped at 1 h, with jitter. */
  backoff?: Backoff;
  /** A run that takes longer fails (its signal is aborted); default none. */
  timeoutMs?: number;
  /**
   * Run on a schedule: a cron expression (5 fields, or 6 with seconds; UTC). One job per tick
   * across all workers, with the payload `{ scheduledAt }`; missed ticks collapse into one run.
   */
  cron?: string;
}

/** `jobs` of `defineModule`: job type name → definition. */
export type JobDefinitions = Readonly<Record<string, JobDefinition<any>>>;

/**
 * `subscribers` of `defineModule`: outbox event type → the job type(s) each event becomes. A key
 * `order.*` (or `*`) stands for every declared event type with that prefix (none is fine).
 */
export type SubscriberDefinitions = Readonly<Record<string, string | readonly string[]>>;

export interface EnqueueOptions {
  /** Not before this time; default now. */
  runAt?: Date | string | number;
  /** Or: not before this many ms from now. */
  delayMs?: number;
  /** Higher runs first; default 0. */
  priority?: number;
  /** While a queued or running job has this key, enqueueing answers that job instead of a new one. */
  uniqueKey?: string;
  /** Default: the type's queue, else `default`. */
  queue?: string;
  /** Default: the type's `maxAttempts`, else `jobs.maxAttempts`. */
  maxAttempts?: number;
  /** Jobs with the same key run one at a time, in `orderSeq` order. */
  orderingKey?: string;
  /** Position within the ordering key; default the job id. */
  orderSeq?: string;
  /** W3C trace context the job continues; default the current request's or job's. */
  traceparent?: string;
}

/** A job as the API shows it. */
export interface Job {
  id: string;
  type: string;
  queue: string;
  state: JobState;
  payload: unknown;
  priority: number;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  uniqueKey: string | null;
  lockedBy: string | null;
  lockedUntil: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface JobQuery {
  state?: JobState | undefined;
  type?: string | undefined;
  queue?: string | undefined;
  /** Default 20, at most 100. */
  limit?: number | undefined;
  cursor?: string | undefined;
}
