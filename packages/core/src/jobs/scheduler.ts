import type { KernelContext } from '../module.js';
import { nextTick } from './cron.js';
import { SCHEDULES_TABLE } from './migrations.js';
import type { RegisteredJobType } from './registry.js';
import { iso } from './rows.js';

interface ScheduleRow {
  name: string;
  cron: string;
  next_run_at: string;
}

/**
 * Cron schedules: one row per scheduled job type holds its next tick. A worker
 * that finds a tick due moves it on with a compare-and-set and, in the same
 * transaction, enqueues the job; of several workers only one wins a tick.
 * Ticks missed while no worker ran collapse into one run.
 */
export function createScheduler(kernel: KernelContext, scheduled: readonly RegisteredJobType[]) {
  const names = scheduled.map((t) => t.name);
  const byName = new Map(scheduled.map((t) => [t.name, t]));

  return {
    /** Adds rows for new schedules and follows changed expressions. */
    async sync(): Promise<void> {
      if (!names.length) return;
      const now = kernel.clock.now();
      const rows = (await kernel.storage.db.selectFrom(SCHEDULES_TABLE).selectAll().where('name', 'in', names).execute()) as ScheduleRow[];
      const existing = new Map(rows.map((r) => [r.name, r]));
      for (const type of scheduled) {
        const cron = type.definition.cron!;
        const row = existing.get(type.name);
        const values = { cron, next_run_at: iso(nextTick(cron, now)), updated_at: iso(now) };
        if (!row) {
          await kernel.storage.db
            .insertInto(SCHEDULES_TABLE)
            .values({ name: type.name, ...values })
            .onConflict((oc) => oc.column('name').doNothing())
            .execute();
        } else if (row.cron !== cron) {
          await kernel.storage.db.updateTable(SCHEDULES_TABLE).set(values).where('name', '=', type.name).where('cron', '=', row.cron).execute();
        }
      }
    },

    /** Enqueues the due ticks this worker wins; answers how many. */
    async tick(): Promise<number> {
      if (!names.length) return 0;
      const now = kernel.clock.now();
      const due = (await kernel.storage.db
        .selectFrom(SCHEDULES_TABLE)
        .selectAll()
        .where('name', 'in', names)
        .where('next_run_at', '<=', iso(now))
        .execute()) as ScheduleRow[];
      let enqueued = 0;
      for (const row of due) {
        const type = byName.get(row.name)!;
        const cron = type.definition.cron!;
        const won = await kernel.transaction(async (tx) => {
          const moved = await tx.db
            .updateTable(SCHEDULES_TABLE)
            .set({ cron, next_run_at: iso(nextTick(cron, now)), updated_at: iso(now) })
            .where('name', '=', row.name)
            .where('next_run_at', '=', row.next_run_at)
            .executeTakeFirst();
          if (Number(moved.numUpdatedRows) !== 1) return false;
          await kernel.jobs.enqueue(row.name, { scheduledAt: row.next_run_at });
          return true;
        });
        if (won) enqueued++;
      }
      return enqueued;
    },
  };
}
