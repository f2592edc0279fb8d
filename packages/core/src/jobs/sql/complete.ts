import { type Kysely, sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';

/** Marks jobs this worker still holds as completed (a job it lost to a takeover is left alone). */
export function completeQuery(db: Pick<Kysely<any>, "updateTable">, workerId: string, ids: readonly string[], now: string) {
  return db
    .updateTable(JOBS_TABLE)
    .set({ state: sql.lit('completed'), locked_by: null, locked_until: null, finished_at: now, updated_at: now })
    .where('id', 'in', ids)
    .where('state', '=', sql.lit('running'))
    .where('locked_by', '=', workerId);
}

/**
 * A one-time condition that switches the statement's own transaction to asynchronous
 * commit (PostgreSQL `synchronous_commit = off`, transaction-local): the commit does not
 * wait for the WAL flush. Only for the worker's bookkeeping (claims, completions): after
 * a database crash such a write may be lost and the job runs again, which at-least-once
 * jobs allow. Enqueues and business writes are never affected.
 */
export const ASYNC_COMMIT_SETTING = "set_config('synchronous_commit', 'off', true)";
export const ASYNC_COMMIT = `(select ${ASYNC_COMMIT_SETTING}) is not null`;

/** Records completions: one prepared statement on PostgreSQL, else the Kysely update. */
export async function completeJobs(storage: Storage, workerId: string, ids: readonly string[], now: string, asyncCommit: boolean): Promise<void> {
  if (!ids.length) return;
  if (!storage.prepared) {
    await completeQuery(storage.db, workerId, ids, now).execute();
    return;
  }
  const name = asyncCommit ? 'plinth_jobs_complete_async' : 'plinth_jobs_complete';
  await storage.prepared(name, asyncCommit ? COMPLETE_ASYNC : COMPLETE, [now, ids, workerId]);
}

const completeText = (asyncCommit: boolean) =>
  `update ${JOBS_TABLE} set state = 'completed', locked_by = null, locked_until = null, finished_at = $1, updated_at = $1
where id = any($2::text[]) and state = 'running' and locked_by = $3${asyncCommit ? ` and ${ASYNC_COMMIT}` : ''}`;
const COMPLETE = completeText(false);
const COMPLETE_ASYNC = completeText(true);
