import { sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';
import type { JobRow } from '../rows.js';
import { ASYNC_COMMIT_SETTING, completeQuery } from './complete.js';

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
 * ordering key has an earlier job still queued or running. Completions ride along:
 * in the same statement where the dialect allows writes in WITH, else in the same
 * transaction.
 */
export async function claimJobs(storage: Storage, input: ClaimInput): Promise<ClaimedRow[]> {
  if (storage.prepared) {
    const one = input.queues.length === 1;
    const [name, text] = CLAIMS[`${one ? 'q1' : 'qn'}${input.asyncCommit ? '_async' : ''}`]!;
    return storage.prepared<ClaimedRow>(name, text, [
      input.now,
      input.completed,
      input.workerId,
      one ? input.queues[0] : input.queues,
      input.types,
      input.limit,
      input.lockedUntil,
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
 * The PostgreSQL claim as one fixed statement, run prepared (parsed and planned
 * once per connection). The `done` CTE records the worker's finished jobs in the
 * same round trip, and runs first: the one-time filter of `due` reads it (an
 * InitPlan, evaluated before the index scan). The order matters. `due` locks
 * rows, and may lock one it then skips (an index entry of a job another worker
 * claimed after this statement's snapshot: the lock is taken on the newest
 * version, the recheck fails, the lock stays until commit); an unreferenced
 * `done` would run last, after those locks, and wait for another claim's
 * `done` that waits for ours: a deadlock. Completing first, a statement waits
 * before it holds any lock, and `due` never waits (SKIP LOCKED). With one queue the
 * filter is an equality, so the partial index `plinth_jobs_runnable_idx`
 * (queue, priority desc, run_at, id) where state = 'queued' hands rows over in
 * claim order and the scan stops after `limit` unlocked rows; the ordering-key
 * probe runs only for rows that have a key.
 * $1 now, $2 completed ids, $3 worker, $4 queue(s), $5 types, $6 limit, $7 lease end.
 */
const claimText = (queueFilter: string, asyncCommit: boolean) => `with done as (
  update ${JOBS_TABLE} set state = 'completed', locked_by = null, locked_until = null, finished_at = $1, updated_at = $1
  where id = any($2::text[]) and state = 'running' and locked_by = $3
  returning 1
), due as (
  select j.id from ${JOBS_TABLE} j
  where j.state = 'queued' and ${queueFilter} and j.run_at <= $1 and j.type = any($5::text[])
    and (select ${asyncCommit ? ASYNC_COMMIT_SETTING : "'completed first'"} from (select count(*) from done) d) is not null
    and (j.ordering_key is null or not exists (
      select 1 from ${JOBS_TABLE} p
      where p.ordering_key = j.ordering_key and p.state in ('queued', 'running') and p.order_seq < j.order_seq))
  order by j.priority desc, j.run_at, j.id
  limit $6
  for update skip locked
)
update ${JOBS_TABLE} set state = 'running', attempts = attempts + 1, locked_by = $3, locked_until = $7, updated_at = $1
where id in (select id from due)
returning id, type, queue, payload, attempts, max_attempts, run_at, traceparent`;
const CLAIMS: Record<string, readonly [name: string, text: string]> = {};
for (const [key, filter] of [['q1', 'j.queue = $4::text'], ['qn', 'j.queue = any($4::text[])']] as const) {
  CLAIMS[key] = [`plinth_jobs_claim_${key}`, claimText(filter, false)];
  CLAIMS[`${key}_async`] = [`plinth_jobs_claim_${key}_async`, claimText(filter, true)];
}
