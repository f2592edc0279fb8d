import { sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';

/** Deletes up to `limit` completed and cancelled jobs finished before `before` (dead ones are kept). */
export async function pruneFinished(storage: Storage, before: string, limit = 1000): Promise<number> {
  const db = storage.db;
  const result = await db
    .deleteFrom(JOBS_TABLE)
    .where(
      'id',
      'in',
      db
        .selectFrom(JOBS_TABLE)
        .select('id')
        .where('state', 'in', [sql.lit('completed'), sql.lit('cancelled')])
        .where('finished_at', '<', before)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
