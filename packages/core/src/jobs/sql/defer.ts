import { sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';

/** Puts a job this worker holds back in the queue until `runAt`; the attempt it was claimed for does not count. */
export async function deferJobRow(storage: Storage, input: { workerId: string; id: string; now: string; runAt: string; reason: string }): Promise<boolean> {
  const result = await storage.db
    .updateTable(JOBS_TABLE)
    .set({
      state: sql.lit('queued'),
      attempts: sql`attempts - 1`,
      run_at: input.runAt,
      locked_by: null,
      locked_until: null,
      last_error: input.reason,
      updated_at: input.now,
    })
    .where('id', '=', input.id)
    .where('state', '=', sql.lit('running'))
    .where('locked_by', '=', input.workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
