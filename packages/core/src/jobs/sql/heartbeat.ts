import { sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';

/** Extends the lease of every job this worker holds, in one statement. */
export async function heartbeat(storage: Storage, workerId: string, lockedUntil: string): Promise<number> {
  const result = await storage.db
    .updateTable(JOBS_TABLE)
    .set({ locked_until: lockedUntil })
    .where('state', '=', sql.lit('running'))
    .where('locked_until', 'is not', null) // reads plinth_jobs_leased_idx
    .where('locked_by', '=', workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
