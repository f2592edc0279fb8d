import { currentTraceparent } from '../trace/context.js';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../clock.js';
import type { PlinthConfig } from '../config.js';
import type { IdGenerator } from '../ids.js';
import { executeLater } from '../storage/error-mapping.js';
import type { Storage } from '../storage/storage.js';
import { jobsError } from './errors.js';
import { JOBS_TABLE } from './migrations.js';
import { DEFAULT_QUEUE, isQueueName, type JobRegistry } from './registry.js';
import { iso, type JobRow, toJob } from './rows.js';
import type { EnqueueOptions, Job, JobQuery } from './types.js';
import { FixedInsert } from '../storage/fixed-insert.js';

/** A job without a unique key: a plain insert, compiled once (the hot path: an order's expiry job). */
const JOB_INSERT = new FixedInsert<JobRow>(JOBS_TABLE, [
  'id', 'type', 'queue', 'state', 'payload', 'priority', 'run_at', 'attempts', 'max_attempts', 'unique_key', 'ordering_key', 'order_seq',
  'traceparent', 'locked_by', 'locked_until', 'last_error', 'created_at', 'updated_at', 'finished_at',
]);

/** A page of a cursor-paginated list. */
export interface JobPage {
  data: Job[];
  nextCursor: string | null;
}

/**
 * The job queue of a Plinth instance (`kernel.jobs`). No permission checks here:
 * this is the kernel's own API, like `kernel.db`; the `jobs` module's service
 * checks `jobs:read` / `jobs:write` for callers.
 */
export interface JobQueue {
  /**
   * Adds a job. Inside `kernel.transaction()` it joins that transaction: the job
   * exists only if the transaction commits. With `uniqueKey`, answers the queued or
   * running job holding that key instead of adding another.
   */
  enqueue<P = unknown>(type: string, payload: P, options?: EnqueueOptions): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /** Newest first; no total count. */
  list(query?: JobQuery): Promise<JobPage>;
  /** Runs a dead, cancelled or waiting (queued) job now; a dead or cancelled one starts its attempts again. */
  retry(id: string): Promise<Job>;
  /** Cancels a queued job. */
  cancel(id: string): Promise<Job>;
  /** The declared job types and subscribers. */
  readonly registry: JobRegistry;
  /** Listens for jobs enqueued by this process (workers wake on it). Answers an unsubscribe function. */
  onEnqueued(listener: () => void): () => void;
  /** Listens for outbox events written by this process (the dispatcher wakes on it). */
  onEmitted(listener: () => void): () => void;
  /** Called by the kernel after writing an outbox event. */
  notifyEmitted(): void;
}

export interface JobQueueDeps {
  storage: Storage;
  /** The kernel's `db`: the current transaction inside `transaction()`. */
  db: Kysely<any>;
  clock: Clock;
  ids: IdGenerator;
  config: Readonly<PlinthConfig>;
  registry: JobRegistry;
  /** The kernel's `transaction()` (joins an open one). */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
}

const ACTIVE = [sql.lit('queued'), sql.lit('running')];

function toMs(value: Date | string | number, what: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw jobsError('jobs.invalid_options', `${what} is not a valid time`);
  return ms;
}

function listeners() {
  const set = new Set<() => void>();
  return {
    add(listener: () => void) {
      set.add(listener);
      return () => void set.delete(listener);
    },
    // Listeners only flag and resolve: never start work inside the caller's (transaction's) async context.
    fire() {
      for (const listener of set) listener();
    },
  };
}

/** Checks a job to enqueue and builds its row (`validate: false` for payloads checked before they run). */
export function buildJobRow(
  deps: Pick<JobQueueDeps, 'storage' | 'clock' | 'ids' | 'config' | 'registry'>,
  type: string,
  payload: unknown,
  options: EnqueueOptions = {},
  validate = true,
): { row: JobRow; value: unknown } {
  const { storage, clock, ids, config, registry } = deps;
  const registered = registry.types.get(type);
  if (!registered) throw jobsError('jobs.unknown_type', `Job type "${String(type)}" is not declared by any module`);
  const schema = registered.definition.payload;
  let value: unknown = payload;
  if (schema && validate) {
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw jobsError('jobs.invalid_payload', `Job "${type}" has an invalid payload: ${parsed.error.message}`, { cause: parsed.error });
    value = parsed.data;
  }
  if (value === undefined) value = null;
  const now = clock.now();
  const runAt = options.runAt !== undefined ? toMs(options.runAt, 'runAt') : now + (options.delayMs ?? 0);
  const priority = options.priority ?? 0;
  const maxAttempts = options.maxAttempts ?? registered.maxAttempts ?? config.jobs.maxAttempts;
  const queueName = options.queue ?? registered.queue ?? DEFAULT_QUEUE;
  if (!Number.isInteger(priority) || Math.abs(priority) > 1_000_000) throw jobsError('jobs.invalid_options', 'priority must be a whole number within ±1,000,000');
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw jobsError('jobs.invalid_options', 'maxAttempts must be a whole number >= 1');
  if (!isQueueName(queueName)) throw jobsError('jobs.invalid_options', `Invalid queue name "${queueName}"`);
  const id = ids.next();
  const at = iso(now);
  const row: JobRow = {
    id,
    type,
    queue: queueName,
    state: 'queued',
    payload: storage.toJson(value),
    priority,
    run_at: iso(runAt),
    attempts: 0,
    max_attempts: maxAttempts,
    unique_key: options.uniqueKey ?? null,
    ordering_key: options.orderingKey ?? null,
    order_seq: options.orderingKey ? (options.orderSeq ?? id) : null,
    traceparent: options.traceparent ?? currentTraceparent() ?? null,
    locked_by: null,
    locked_until: null,
    last_error: null,
    created_at: at,
    updated_at: at,
    finished_at: null,
  };
  return { row, value };
}

export function createJobQueue(deps: JobQueueDeps): JobQueue {
  const { storage, clock, registry } = deps;
  const enqueued = listeners();
  const emitted = listeners();

  async function findActiveByKey(uniqueKey: string): Promise<JobRow | undefined> {
    return (await deps.db.selectFrom(JOBS_TABLE).selectAll().where('unique_key', '=', uniqueKey).where('state', 'in', ACTIVE).executeTakeFirst()) as JobRow | undefined;
  }

  async function findRow(id: string, lock = false): Promise<JobRow> {
    const q = deps.db.selectFrom(JOBS_TABLE).selectAll().where('id', '=', id);
    const row = (await (lock ? storage.forUpdate(q) : q).executeTakeFirst()) as JobRow | undefined;
    if (!row) throw jobsError('jobs.not_found', 'No such job');
    return row;
  }

  const queue: JobQueue = {
    registry,
    onEnqueued: enqueued.add,
    onEmitted: emitted.add,
    notifyEmitted: emitted.fire,

    async enqueue(type, payload, options = {}) {
      const { row, value } = buildJobRow(deps, type, payload, options);
      if (row.unique_key === null) {
        await executeLater(deps.db, JOB_INSERT.compile(storage.dialect, [row])); // a fresh id: nothing to read back
        enqueued.fire();
        return toJob(storage, { ...row, payload: value });
      }
      // A queued or running job with the key wins; the loop covers one that finishes meanwhile.
      for (let attempt = 0; attempt < 3; attempt++) {
        const inserted = await deps.db
          .insertInto(JOBS_TABLE)
          .values(row)
          .onConflict((oc) => oc.column('unique_key').where(sql<boolean>`unique_key is not null and state in ('queued', 'running')`).doNothing())
          .returning('id')
          .execute();
        if (inserted.length) {
          enqueued.fire();
          return toJob(storage, { ...row, payload: value });
        }
        const existing = await findActiveByKey(row.unique_key);
        if (existing) return toJob(storage, existing);
      }
      throw jobsError('jobs.invalid_state', `Could not enqueue "${type}" with unique key "${row.unique_key}": it keeps changing`);
    },

    async get(id) {
      const row = (await deps.db.selectFrom(JOBS_TABLE).selectAll().where('id', '=', id).executeTakeFirst()) as JobRow | undefined;
      return row && toJob(storage, row);
    },

    async list(query = {}) {
      const limit = Math.min(Math.max(Math.trunc(query.limit ?? 20), 1), 100);
      let q = deps.db.selectFrom(JOBS_TABLE).selectAll();
      if (query.state) q = q.where('state', '=', query.state);
      // Running jobs are the ones with a lease: saying so lets the query read plinth_jobs_leased_idx.
      if (query.state === 'running') q = q.where('locked_until', 'is not', null);
      if (query.type) q = q.where('type', '=', query.type);
      if (query.queue) q = q.where('queue', '=', query.queue);
      if (query.cursor) q = q.where('id', '<', query.cursor);
      const rows = (await q.orderBy('id', 'desc').limit(limit + 1).execute()) as JobRow[];
      const more = rows.length > limit;
      const kept = more ? rows.slice(0, limit) : rows;
      return { data: kept.map((r) => toJob(storage, r)), nextCursor: more ? kept[kept.length - 1]!.id : null };
    },

    async retry(id) {
      const job = await deps.transaction(async () => {
        const row = await findRow(id, true);
        if (row.state === 'running' || row.state === 'completed') {
          throw jobsError('jobs.invalid_state', `A ${row.state} job cannot be retried`, { details: { state: row.state } });
        }
        const at = iso(clock.now());
        const restart = row.state !== 'queued';
        await deps.db
          .updateTable(JOBS_TABLE)
          .set({ state: 'queued', run_at: at, updated_at: at, finished_at: null, locked_by: null, locked_until: null, ...(restart ? { attempts: 0 } : {}) })
          .where('id', '=', id)
          .execute();
        return toJob(storage, await findRow(id));
      });
      enqueued.fire();
      return job;
    },

    async cancel(id) {
      return deps.transaction(async () => {
        const row = await findRow(id, true);
        if (row.state !== 'queued') throw jobsError('jobs.invalid_state', `Only a queued job can be cancelled; this one is ${row.state}`, { details: { state: row.state } });
        const at = iso(clock.now());
        await deps.db.updateTable(JOBS_TABLE).set({ state: 'cancelled', updated_at: at, finished_at: at }).where('id', '=', id).execute();
        return toJob(storage, await findRow(id));
      });
    },
  };
  return queue;
}
