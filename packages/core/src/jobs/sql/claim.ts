import { sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';
import type { JobRow } from '../rows.js';
import { completeQuery } from './complete.js';

export interface ClaimInput {
  workerId: string;
  queues: readonly string[];
  /** Job types this worker can run. */
  types: readonly string[];
  limit: number;
  now: string;
  lockedUntil: string;
  /** Jobs this worker finished since its last claim: completed in the same round trip. */
  completed: readonly string[];
  /** PostgreSQL: commit without waiting for the WAL flush (`jobs.synchronousCommit: false`). */
  asyncCommit?: boolean;
}

export type ClaimedRow = Pick<JobRow, 'id' | 'type' | 'queue' | 'payload' | 'attempts' | 'max_attempts' | 'run_at' | 'traceparent'>;

/**
 * Takes up to `limit` due jobs in one statement: the oldest of the highest
 * priority, skipping rows other workers are locking (PostgreSQL), and jobs whose
 * ordering key has an earlier job still queued or running. Completions ride along,
 * recorded first: on PostgreSQL in the same call of `plinth_jobs_claim`, elsewhere in
 * the same statement where the dialect allows writes in WITH, else in the same
 * transaction.
 */
export async function claimJobs(storage: Storage, input: ClaimInput): Promise<ClaimedRow[]> {
  if (storage.prepared) {
    return storage.prepared<ClaimedRow>(CLAIM[0], CLAIM[1], [
      input.now,
      input.completed,
      input.workerId,
      input.queues,
      input.types,
      input.limit,
      input.lockedUntil,
      input.asyncCommit === true,
    ]);
  }
  const db = storage.db;
  const due = storage.forUpdateSkipLocked(
    db
      .selectFrom(`${JOBS_TABLE} as j`)
      .select('j.id')
      .where('j.state', '=', sql.lit('queued'))
      .where('j.queue', 'in', input.queues)
      .where('j.run_at', '<=', input.now)
      .where('j.type', 'in', input.types)
      .where((eb) =>
        eb.or([
          eb('j.ordering_key', 'is', null),
          eb.not(
            eb.exists(
              eb
                .selectFrom(`${JOBS_TABLE} as p`)
                .select(sql.lit(1).as('one'))
                .whereRef('p.ordering_key', '=', 'j.ordering_key')
                .where('p.state', 'in', [sql.lit('queued'), sql.lit('running')])
                .whereRef('p.order_seq', '<', 'j.order_seq'),
            ),
          ),
        ]),
      )
      .orderBy('j.priority', 'desc')
      .orderBy('j.run_at')
      .orderBy('j.id')
      .limit(input.limit),
  );
  const claim = (q: typeof db) =>
    q
      .updateTable(JOBS_TABLE)
      .set({
        state: sql.lit('running'),
        attempts: sql`attempts + 1`,
        locked_by: input.workerId,
        locked_until: input.lockedUntil,
        updated_at: input.now,
      })
      .where('id', 'in', due)
      .returning(['id', 'type', 'queue', 'payload', 'attempts', 'max_attempts', 'run_at', 'traceparent']);

  if (!input.completed.length) return (await claim(db).execute()) as ClaimedRow[];
  if (storage.writableCtes) {
    const rows = await db
      .with('done', (d) => completeQuery(d, input.workerId, input.completed, input.now).returning('id'))
      .updateTable(JOBS_TABLE)
      .set({ state: sql.lit('running'), attempts: sql`attempts + 1`, locked_by: input.workerId, locked_until: input.lockedUntil, updated_at: input.now })
      .where('id', 'in', due)
      .returning(['id', 'type', 'queue', 'payload', 'attempts', 'max_attempts', 'run_at', 'traceparent'])
      .execute();
    return rows as ClaimedRow[];
  }
  return db.transaction().execute(async (trx) => {
    await completeQuery(trx, input.workerId, input.completed, input.now).execute();
    return (await claim(trx).execute()) as ClaimedRow[];
  });
}

/**
 * The PostgreSQL claim: one call of `plinth_jobs_claim` (migration
 * `kernel/0006-jobs-claim-function`), run prepared. The function completes the
 * worker's finished jobs, then locks and leases due ones, each statement with one
 * plan kept for the connection (as a prepared statement of its own, the claim was
 * planned again on every call). With one queue the due jobs come from the partial
 * index `plinth_jobs_runnable_idx` (queue, priority desc, run_at, id) where
 * state = 'queued' in claim order, and the scan stops after `limit` unlocked rows.
 * $1 now, $2 completed ids, $3 worker, $4 queues, $5 types, $6 limit, $7 lease end,
 * $8 asynchronous commit.
 */
const CLAIM = [
  'plinth_jobs_claim_fn',
  'select id, type, queue, payload, attempts, max_attempts, run_at, traceparent from plinth_jobs_claim($1, $2, $3, $4, $5, $6, $7, $8)',
] as const;
