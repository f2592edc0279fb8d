import { sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';

/**
 * Gives jobs back to the queue unfinished (a stopping worker): due now, and the
 * attempt they were claimed for does not count.
 */
export async function releaseJobs(storage: Storage, workerId: string, ids: readonly string[], now: string): Promise<number> {
  if (!ids.length) return 0;
  const result = await storage.db
    .updateTable(JOBS_TABLE)
    .set({ state: sql.lit('queued'), attempts: sql`attempts - 1`, locked_by: null, locked_until: null, run_at: now, updated_at: now })
    .where('id', 'in', ids)
    .where('state', '=', sql.lit('running'))
    .where('locked_by', '=', workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
