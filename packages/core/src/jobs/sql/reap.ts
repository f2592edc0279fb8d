import { sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';

/**
 * Takes back jobs whose lease ran out (their worker died or hangs): dead when
 * that was their last attempt, else due again at once. Answers how many.
 */
export async function reapExpiredLeases(storage: Storage, now: string): Promise<number> {
  const expired = (state: 'dead' | 'queued') =>
    storage.db
      .updateTable(JOBS_TABLE)
      .set({
        state: sql.lit(state),
        last_error: sql`'lease expired: worker ' || coalesce(locked_by, '?') || ' stopped answering during attempt ' || attempts`,
        finished_at: state === 'dead' ? now : null,
        run_at: now,
        locked_by: null,
        locked_until: null,
        updated_at: now,
      })
      .where('state', '=', sql.lit('running'))
      .where('locked_until', '<', now);
  const dead = await expired('dead').whereRef('attempts', '>=', 'max_attempts').executeTakeFirst();
  const queued = await expired('queued').executeTakeFirst();
  return Number(dead.numUpdatedRows) + Number(queued.numUpdatedRows);
}
