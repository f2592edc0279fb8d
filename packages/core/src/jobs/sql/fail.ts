import { sql } from 'kysely';
import type { Storage } from '../../storage/storage.js';
import { JOBS_TABLE } from '../migrations.js';

export interface FailInput {
  workerId: string;
  id: string;
  now: string;
  /** `queued` with `runAt` for a retry, `dead` when attempts are used up. */
  next: { state: 'queued'; runAt: string } | { state: 'dead' };
  error: string;
}

/** Records a failed attempt of a job this worker holds: back to the queue after a delay, or dead. */
export async function failJob(storage: Storage, input: FailInput): Promise<boolean> {
  const dead = input.next.state === 'dead';
  const result = await storage.db
    .updateTable(JOBS_TABLE)
    .set({
      state: input.next.state,
      run_at: input.next.state === 'queued' ? input.next.runAt : sql`run_at`,
      locked_by: null,
      locked_until: null,
      last_error: input.error,
      finished_at: dead ? input.now : null,
      updated_at: input.now,
    })
    .where('id', '=', input.id)
    .where('state', '=', sql.lit('running'))
    .where('locked_by', '=', input.workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
