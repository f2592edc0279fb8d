import { childTraceparent, runWithTrace, traceIdOf } from '../trace/context.js';
import { type LogScope, runInLogScope } from '../log-scope.js';
import { loadOpenTelemetry, startSpan } from '../trace/otel.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { PlinthError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { KernelContext } from '../module.js';
import type { Registry } from '../metrics.js';
import { OUTBOX_TABLE } from '../outbox/outbox.js';
import { retryDelayMs } from './backoff.js';
import { dispatchOnce } from './dispatcher.js';
import { jobMetricsFor } from './metrics.js';
import { JOBS_CHANNEL, JOBS_TABLE, OUTBOX_CHANNEL } from './migrations.js';
import { iso, errorText } from './rows.js';
import { createScheduler } from './scheduler.js';
import { type ClaimedRow, claimJobs } from './sql/claim.js';
import { completeJobs } from './sql/complete.js';
import { failJob } from './sql/fail.js';
import { deferJobRow } from './sql/defer.js';
import { deferralOf } from './defer.js';
import { heartbeat } from './sql/heartbeat.js';
import { pruneFinished } from './sql/prune.js';
import { reapExpiredLeases } from './sql/reap.js';
import { releaseJobs } from './sql/release.js';

export interface WorkerOptions {
  /** Jobs run at once; default `jobs.concurrency` (10). */
  concurrency?: number;
  /** Queues to take jobs from; default every queue of the declared job types. */
  queues?: readonly string[];
  /**
   * Jobs taken per claim. 1 (default): each of the `concurrency` slots claims its
   * own next job, completing the previous one in the same statement. More: one
   * claim takes a batch and completions are recorded in batches (fastest for many
   * short jobs; a batch is held by this worker until it runs).
   */
  batchSize?: number;
  /** Turn committed outbox events into subscriber jobs; default true. */
  dispatch?: boolean;
  /** Enqueue cron jobs when their tick is due; default true. */
  schedule?: boolean;
  /** Take back jobs whose lease ran out and delete old finished jobs; default true. */
  maintain?: boolean;
  /** Shown as `lockedBy`; default `host:pid:random`. */
  id?: string;
}

export interface Worker {
  readonly id: string;
  /** Jobs claimed and not finished (running or waiting in this worker's batch). */
  readonly held: number;
  /** Starts claiming; resolves once the worker listens for work. */
  start(): Promise<void>;
  /**
   * Stops claiming, waits up to `timeoutMs` (default `jobs.shutdownTimeoutMs`) for
   * running jobs, then aborts and releases the rest back to the queue (their
   * attempt does not count). Answers how many jobs were released.
   */
  stop(options?: { timeoutMs?: number }): Promise<{ released: number }>;
  /** Resolves once nothing this worker could run is due or running (scripts, tests); rejects after `timeoutMs` (default 30 s). */
  drain(options?: { timeoutMs?: number }): Promise<void>;
  /** Looks for due jobs now instead of at the next poll. */
  wake(): void;
}

interface Running {
  row: ClaimedRow;
  /** Ends the run: its handler's signal is aborted and the run fails with `reason`. */
  abort(reason: unknown): void;
  released: boolean;
  done: Promise<void>;
}

const FLUSH_MS = 20;
/** Per-job mode: claim statements one worker keeps in flight at once. */
const MAX_SLOT_CLAIMS = 2;
const PRUNE_EVERY_MS = 60_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A timer as a promise that can be cancelled (so a stop that finished early leaves no timer behind). */
function timeout(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(1, ms));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}
class PayloadError extends Error {
  override name = 'PayloadError';
}

/**
 * A worker: runs the jobs of its queues with `concurrency` slots, keeps their
 * leases alive with heartbeats, and (unless told not to) dispatches the outbox,
 * enqueues cron ticks and takes back expired leases. Several workers, in one
 * process or many, share the work safely.
 */
export function createWorker(plinth: KernelContext & { readonly metrics?: Registry }, options: WorkerOptions = {}): Worker {
  const { storage, clock, config, jobs: queue } = plinth;
  const registry = queue.registry;
  const concurrency = options.concurrency ?? config.jobs.concurrency;
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new PlinthError('config.invalid', 'Worker concurrency must be a whole number >= 1');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new PlinthError('config.invalid', 'Worker batchSize must be a whole number >= 1');
  const types = [...registry.types.keys()];
  const queues = options.queues?.length ? [...options.queues] : [...new Set([...registry.types.values()].map((t) => t.queue))];
  const id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const log: Logger = plinth.logger.child({ worker: id });
  const metrics = plinth.metrics ? jobMetricsFor(plinth.metrics, storage) : undefined;
  const leaseMs = config.jobs.leaseSeconds * 1000;
  const pollMs = config.jobs.pollIntervalMs;
  const asyncCommit = !config.jobs.synchronousCommit;
  const scheduler = createScheduler(plinth, options.schedule === false ? [] : registry.scheduled);

  let started = false;
  let stopping = false;
  let stopped: Promise<{ released: number }> | undefined;
  let handedBack = false;
  const running = new Map<string, Running>();
  const buffer: ClaimedRow[] = [];
  let completed: string[] = [];
  /** Per-job claims in flight, until their rows are handed to the slots. */
  const claiming = new Set<Promise<void>>();
  let batchClaim: Promise<void> | undefined;
  const claimWaiters: ((row: ClaimedRow | undefined) => void)[] = [];
  let slotClaims = 0;
  const idle: (() => void)[] = [];
  let wakePending = false;
  let flushTimer: NodeJS.Timeout | undefined;
  const timers: NodeJS.Timeout[] = [];
  const stops: (() => Promise<void>)[] = [];
  const background = new Set<Promise<unknown>>();
  let lastPrune = 0;

  // Waking only resolves a promise: work never starts in the waker's async context (a transaction).
  function wake(): void {
    const next = idle.shift();
    if (next) next();
    else wakePending = true;
  }
  function wakeAll(): void {
    while (idle.length) idle.shift()!();
  }
  function waitForWork(): Promise<void> {
    if (stopping) return Promise.resolve();
    if (wakePending) {
      wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => idle.push(resolve));
  }

  const lease = () => iso(clock.now() + leaseMs);
  const takeCompleted = () => {
    const done = completed;
    completed = [];
    return done;
  };

  function track<T>(promise: Promise<T>): Promise<T> {
    background.add(promise);
    promise.finally(() => background.delete(promise)).catch(() => undefined);
    return promise;
  }

  async function claim(limit: number): Promise<ClaimedRow[]> {
    if (!types.length || !queues.length) return [];
    const done = takeCompleted();
    try {
      const now = clock.now();
      const rows = await claimJobs(storage, { workerId: id, queues, types, limit, now: iso(now), lockedUntil: lease(), completed: done, asyncCommit });
      rows.sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const row of rows) metrics?.claimLatency(row.queue, (now - Date.parse(row.run_at)) / 1000);
      return rows;
    } catch (error) {
      completed = done.concat(completed);
      log.error({ err: error }, 'claiming jobs failed; retrying after the poll interval');
      await sleep(pollMs);
      return [];
    }
  }

  /** Gives jobs claimed too late (after stop() released the rest) back to the queue. */
  function giveBack(ids: string[]): void {
    if (!ids.length) return;
    void track(releaseJobs(storage, id, ids, iso(clock.now())).catch((error) => log.error({ err: error }, 'releasing jobs on stop failed; their leases will run out')));
  }

  async function flush(): Promise<void> {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    const done = takeCompleted();
    if (!done.length) return;
    try {
      await completeJobs(storage, id, done, iso(clock.now()), asyncCommit);
    } catch (error) {
      completed = done.concat(completed);
      log.error({ err: error }, 'recording completed jobs failed; retrying');
      scheduleFlush();
    }
  }
  function scheduleFlush(): void {
    if (!flushTimer && !stopping) flushTimer = setTimeout(() => void track(flush()), FLUSH_MS);
  }

  /** The next job for a slot, or undefined when nothing is due. */
  async function next(): Promise<ClaimedRow | undefined> {
    if (buffer.length) {
      if (batchSize > 1 && buffer.length <= batchSize / 2) prefetch();
      return buffer.shift();
    }
    if (batchSize === 1) return claimForSlot();
    prefetch();
    await batchClaim;
    return buffer.shift();
  }

  /**
   * Per-job claims, coalesced: slots that want their next job at the same time
   * share one claim statement (one row each, never more rows than waiting slots,
   * so no job is held without a slot to run it), with at most two claims in
   * flight. The completions of every slot ride along.
   */
  function claimForSlot(): Promise<ClaimedRow | undefined> {
    if (stopping) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      claimWaiters.push(resolve);
      pumpClaims();
    });
  }
  function pumpClaims(): void {
    while (claimWaiters.length && slotClaims < MAX_SLOT_CLAIMS && !stopping) {
      const takers = claimWaiters.splice(0);
      const carried = completed.length;
      slotClaims++;
      const delivered: Promise<void> = claim(takers.length).then((rows) => {
        slotClaims--;
        claiming.delete(delivered);
        if (stopping) {
          // Answered after stop() began: no slot runs these. Held for stop() to give back, or given back here once it has.
          for (const resolve of takers) resolve(undefined);
          if (handedBack) giveBack(rows.map((r) => r.id));
          else buffer.push(...rows);
          return;
        }
        for (let i = 0; i < takers.length; i++) takers[i]!(rows[i]);
        // All taken: there may be more. A claim that completed jobs could not see
        // their ordering-key successors as free yet: look once more.
        if (rows.length === takers.length || carried) {
          wake();
          for (let i = 1; i < rows.length && idle.length; i++) wake();
        }
        pumpClaims();
      });
      claiming.add(delivered);
    }
    if (stopping) for (const resolve of claimWaiters.splice(0)) resolve(undefined);
  }

  function prefetch(): void {
    if (batchClaim || stopping) return;
    const limit = Math.min(batchSize, concurrency + batchSize - running.size - buffer.length);
    if (limit < 1) return;
    batchClaim = claim(limit)
      .then((rows) => {
        if (stopping) {
          if (handedBack) giveBack(rows.map((r) => r.id));
          else buffer.push(...rows);
          return;
        }
        buffer.push(...rows);
        for (let i = 1; i < rows.length && idle.length; i++) wake();
      })
      .finally(() => {
        batchClaim = undefined;
      });
  }

  async function run(row: ClaimedRow): Promise<void> {
    const registered = registry.types.get(row.type)!;
    const definition = registered.definition;
    // The signal is made when the handler reads it (most never do); aborting rejects the run either way.
    let controller: AbortController | undefined;
    let abortReason: unknown;
    let rejectRun: ((reason: unknown) => void) | undefined;
    const abort = (reason: unknown) => {
      if (abortReason !== undefined) return;
      abortReason = reason;
      controller?.abort(reason);
      rejectRun?.(reason);
    };
    const entry: Running = { row, abort, released: false, done: Promise.resolve() };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const attempt = Number(row.attempts);
    const maxAttempts = Number(row.max_attempts);
    const work = (async () => {
      let payload = storage.fromJson(row.payload);
      if (definition.payload) {
        const parsed = definition.payload.safeParse(payload);
        if (!parsed.success) throw new PayloadError(`invalid payload: ${parsed.error.message}`);
        payload = parsed.data;
      }
      const aborted = new Promise<never>((_, reject) => {
        if (abortReason !== undefined) reject(abortReason);
        else rejectRun = reject;
      });
      aborted.catch(() => undefined);
      if (definition.timeoutMs) {
        timer = setTimeout(() => abort(new JobTimeoutError(`timed out after ${definition.timeoutMs} ms`)), definition.timeoutMs);
      }
      // A CONSUMER span when an OpenTelemetry tracer provider records; else a child span id of our own.
      const span = startSpan(`job ${row.type}`, 'consumer', row.traceparent ?? undefined, { 'plinth.job.type': row.type, 'plinth.job.id': row.id, 'plinth.job.attempt': attempt });
      const traceparent = span?.traceparent ?? (row.traceparent ? childTraceparent(row.traceparent) : undefined);
      const traceId = traceIdOf(traceparent);
      const trace = traceparent && traceId ? { traceId, traceparent } : undefined;
      const context = {
        trace,
        payload,
        attempt,
        maxAttempts,
        jobId: row.id,
        type: row.type,
        kernel: plinth,
        get signal() {
          if (!controller) {
            controller = new AbortController();
            if (abortReason !== undefined) controller.abort(abortReason);
          }
          return controller.signal;
        },
        // The job's ids come from its log scope, on this logger's lines as on any other's.
        log,
      };
      // Every line written while the handler runs, through any logger, carries the job's ids and trace id.
      const scope: LogScope = {
        logFields: () => (trace ? { job: row.type, jobId: row.id, attempt, traceId: trace.traceId } : { job: row.type, jobId: row.id, attempt }),
      };
      const run = () => runInLogScope(scope, () => definition.handler(context));
      // Events and jobs the handler creates continue the trace.
      const handled = trace ? runWithTrace(trace.traceparent, run) : Promise.resolve().then(run);
      handled.catch(() => undefined); // a handler that fails after its timeout is not an unhandled rejection
      try {
        await Promise.race([handled, aborted]);
      } catch (error) {
        span?.end(error);
        throw error;
      }
      span?.end();
    })();
    entry.done = work.then(
      () => undefined,
      () => undefined,
    );
    running.set(row.id, entry);
    try {
      await work;
      if (entry.released) return;
      completed.push(row.id);
      metrics?.processed(row.type, 'completed');
      if (batchSize > 1 || stopping) scheduleFlush();
    } catch (error) {
      if (entry.released) return;
      const deferral = deferralOf(error);
      if (deferral) {
        // Not the job's fault (an open circuit, a provider asking to wait): back to the queue, the attempt refunded.
        const now = clock.now();
        metrics?.processed(row.type, 'retry');
        log.info({ job: row.type, jobId: row.id, delayMs: deferral.delayMs, reason: deferral.reason }, 'job deferred');
        try {
          await deferJobRow(storage, { workerId: id, id: row.id, now: iso(now), runAt: iso(now + deferral.delayMs), reason: deferral.reason });
        } catch (deferError) {
          log.error({ err: deferError, jobId: row.id }, 'recording a deferred job failed');
        }
        return;
      }
      const dead = attempt >= maxAttempts || error instanceof PayloadError;
      const now = clock.now();
      const next = dead ? ({ state: 'dead' } as const) : ({ state: 'queued', runAt: iso(now + retryDelayMs(definition.backoff, attempt)) } as const);
      metrics?.processed(row.type, dead ? 'dead' : 'retry');
      log.warn({ job: row.type, jobId: row.id, attempt, maxAttempts, err: errorText(error), next: next.state }, dead ? 'job failed for good (dead)' : 'job failed; will retry');
      try {
        await failJob(storage, { workerId: id, id: row.id, now: iso(now), next, error: errorText(error) });
      } catch (failError) {
        // The lease runs out and the job is taken back: it runs again rather than being lost.
        log.error({ err: failError, jobId: row.id }, 'recording a failed job failed');
      }
    } finally {
      clearTimeout(timer);
      running.delete(row.id);
      metrics?.duration(row.type, (performance.now() - started) / 1000);
    }
  }

  async function slot(): Promise<void> {
    while (!stopping) {
      const row = await next();
      if (stopping) {
        // Released by stop(), or here when its claim was answered after stop() gave the rest back.
        if (row && handedBack) giveBack([row.id]);
        else if (row) buffer.unshift(row);
        break;
      }
      if (!row) {
        if (batchSize === 1 && completed.length) await flush();
        await waitForWork();
        continue;
      }
      await run(row);
    }
  }

  async function dispatchLoop(wait: () => Promise<void>): Promise<void> {
    while (!stopping) {
      try {
        for (;;) {
          const { locked } = await dispatchOnce({ storage, clock, ids: plinth.ids, config, registry });
          if (locked < 200 || stopping) break;
        }
      } catch (error) {
        log.error({ err: error }, 'dispatching outbox events failed; retrying after the poll interval');
      }
      await wait();
    }
  }

  async function maintain(): Promise<void> {
    try {
      const now = clock.now();
      if (options.maintain !== false) {
        const reaped = await reapExpiredLeases(storage, iso(now));
        if (reaped) {
          log.warn({ jobs: reaped }, 'took back jobs whose lease ran out');
          wake();
        }
        if (now - lastPrune >= PRUNE_EVERY_MS) {
          lastPrune = now;
          await pruneFinished(storage, iso(now - config.jobs.keepCompletedSeconds * 1000));
        }
      }
      if (await scheduler.tick()) wake();
    } catch (error) {
      log.error({ err: error }, 'job maintenance failed; retrying after the poll interval');
    }
  }

  const worker: Worker = {
    id,
    get held() {
      return running.size + buffer.length;
    },
    wake,

    async start() {
      if (started) throw new PlinthError('service.unavailable', 'This worker was already started');
      started = true;
      await loadOpenTelemetry();
      await scheduler.sync();
      const offEnqueued = queue.onEnqueued(wake);
      stops.push(async () => offEnqueued());
      try {
        stops.push(await storage.listen(JOBS_CHANNEL, wake));
      } catch (error) {
        log.warn({ err: error }, 'cannot LISTEN for new jobs; polling only');
      }

      if (options.dispatch !== false) {
        let signalled = false;
        let resolveWait: (() => void) | undefined;
        const signal = () => {
          if (resolveWait) {
            const r = resolveWait;
            resolveWait = undefined;
            r();
          } else signalled = true;
        };
        const wait = () =>
          signalled || stopping
            ? ((signalled = false), Promise.resolve())
            : new Promise<void>((resolve) => {
                resolveWait = resolve;
              });
        const offEmitted = queue.onEmitted(signal);
        stops.push(async () => offEmitted());
        try {
          stops.push(await storage.listen(OUTBOX_CHANNEL, signal));
        } catch (error) {
          log.warn({ err: error }, 'cannot LISTEN for outbox events; polling only');
        }
        timers.push(setInterval(signal, pollMs));
        stops.push(async () => signal());
        track(dispatchLoop(wait));
      }

      timers.push(setInterval(wake, pollMs));
      timers.push(
        setInterval(() => {
          if (running.size + buffer.length + completed.length) track(heartbeat(storage, id, lease()).catch((error) => log.error({ err: error }, 'heartbeat failed')));
        }, Math.max(100, Math.floor(leaseMs / 3))),
      );
      let maintaining = false;
      timers.push(
        setInterval(() => {
          if (maintaining) return;
          maintaining = true;
          track(maintain().finally(() => (maintaining = false)));
        }, pollMs),
      );
      track(maintain());
      for (let i = 0; i < concurrency; i++) track(slot());
      log.debug({ concurrency, batchSize, queues }, 'worker started');
    },

    stop({ timeoutMs = config.jobs.shutdownTimeoutMs } = {}) {
      if (!started) return Promise.resolve({ released: 0 });
      stopped ??= (async () => {
        stopping = true;
        for (const timer of timers) clearInterval(timer);
        wakeAll();
        pumpClaims(); // slots waiting for a claim that will not be sent get nothing
        for (const stop of stops) await stop().catch(() => undefined);
        // Running jobs get their time; claims in flight land first (their jobs are released below).
        // Waits on the promises themselves plus a timer: never on an already settled promise, whose
        // microtask loop would starve the I/O that answers the claims until the deadline.
        const deadline = Date.now() + timeoutMs;
        while ((running.size || claiming.size || batchClaim) && Date.now() < deadline) {
          const pending: Promise<unknown>[] = [...claiming];
          for (const entry of running.values()) pending.push(entry.done);
          if (batchClaim) pending.push(batchClaim);
          const timer = timeout(deadline - Date.now());
          await Promise.race([Promise.all(pending), timer.promise]);
          timer.cancel();
        }
        const unfinished = [...running.values()];
        for (const entry of unfinished) {
          entry.released = true;
          entry.abort(new Error('worker stopping'));
        }
        const ids = [...unfinished.map((e) => e.row.id), ...buffer.splice(0).map((r) => r.id)];
        handedBack = true;
        let released = 0;
        try {
          released = await releaseJobs(storage, id, ids, iso(clock.now()));
          await flush();
        } catch (error) {
          log.error({ err: error }, 'releasing jobs on stop failed; their leases will run out');
        }
        const timer = timeout(Math.max(0, deadline - Date.now()) + 100);
        await Promise.race([Promise.allSettled([...background]), timer.promise]);
        timer.cancel();
        log.debug({ released }, 'worker stopped');
        return { released };
      })();
      return stopped;
    },

    async drain({ timeoutMs = 30_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const quiet = () => !running.size && !buffer.length && !claiming.size && !batchClaim && !completed.length;
        if (quiet()) {
          // Outbox first: an event dispatched after this read has its jobs committed before the next one.
          const undispatched =
            options.dispatch === false ? [] : await storage.db.selectFrom(OUTBOX_TABLE).select('id').where('dispatched_at', 'is', null).limit(1).execute();
          const now = iso(clock.now());
          const due =
            undispatched.length || !types.length || !queues.length
              ? []
              : await storage.db
                  .selectFrom(JOBS_TABLE)
                  .select('id')
                  .where('state', '=', 'queued')
                  .where('run_at', '<=', now)
                  .where('queue', 'in', queues)
                  .where('type', 'in', types)
                  .limit(1)
                  .execute();
          if (!undispatched.length && !due.length && quiet()) return;
        }
        if (Date.now() > deadline) throw new PlinthError('service.unavailable', `Worker ${id} did not drain within ${timeoutMs} ms`);
        wake();
        await sleep(5);
      }
    },
  };
  return worker;
}
