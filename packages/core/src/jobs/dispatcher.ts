import type { Clock } from '../clock.js';
import type { PlinthConfig } from '../config.js';
import type { IdGenerator } from '../ids.js';
import { OUTBOX_TABLE } from '../outbox/outbox.js';
import type { Storage } from '../storage/storage.js';
import { JOBS_TABLE } from './migrations.js';
import { buildJobRow } from './queue.js';
import type { JobRegistry } from './registry.js';
import type { EnqueueOptions } from './types.js';
import { iso, type JobRow } from './rows.js';

export interface DispatcherDeps {
  storage: Storage;
  clock: Clock;
  ids: IdGenerator;
  config: Readonly<PlinthConfig>;
  registry: JobRegistry;
}

interface OutboxRow {
  id: string;
  type: string;
  aggregate_type: string | null;
  aggregate_id: string | null;
  payload: unknown;
  created_at: string;
  /** Undispatched events of the same aggregate before this one. */
  pending_before: number | string | null;
  traceparent: string | null;
}

/** What a subscriber job receives as its payload: the committed event. */
export interface DispatchedEvent {
  id: string;
  type: string;
  aggregate: { type: string; id: string } | null;
  payload: unknown;
  createdAt: string;
}

const INSERT_CHUNK = 200;

/**
 * One dispatch round, in one transaction: lock a batch of undispatched outbox
 * events (oldest first, skipping rows another dispatcher holds), create one job
 * per event and subscriber, and mark the events dispatched. Commit makes both
 * visible at once, so an event becomes its jobs exactly once, however often
 * dispatchers crash or restart.
 *
 * Never "everything after the highest id seen": an event whose transaction
 * commits late is simply still undispatched on a later round. An event waits
 * while an earlier event of its aggregate is undispatched and not in this batch
 * (held by another dispatcher), so an aggregate's jobs are created in order;
 * their ordering key then runs them one at a time, in event order.
 *
 * Answers how many events were locked (a full batch means: run again).
 */
export async function dispatchOnce(deps: DispatcherDeps, batchSize = 200): Promise<{ locked: number; dispatched: number }> {
  const { storage, clock, registry } = deps;
  return storage.db.transaction().execute(async (trx) => {
    const rows = (await storage
      .forUpdateSkipLocked(
        trx
          .selectFrom(`${OUTBOX_TABLE} as o`)
          .select(['o.id', 'o.type', 'o.aggregate_type', 'o.aggregate_id', 'o.payload', 'o.created_at', 'o.traceparent'])
          .select((eb) =>
            eb
              .selectFrom(`${OUTBOX_TABLE} as e`)
              .select(eb.fn.countAll().as('n'))
              .where('e.dispatched_at', 'is', null)
              .whereRef('e.aggregate_type', '=', 'o.aggregate_type')
              .whereRef('e.aggregate_id', '=', 'o.aggregate_id')
              .whereRef('e.id', '<', 'o.id')
              .as('pending_before'),
          )
          .where('o.dispatched_at', 'is', null)
          .orderBy('o.id')
          .limit(batchSize),
      )
      .execute()) as OutboxRow[];
    if (!rows.length) return { locked: 0, dispatched: 0 };

    const seen = new Map<string, number>();
    const blocked = new Set<string>();
    const ready: OutboxRow[] = [];
    for (const row of rows) {
      if (row.aggregate_type === null || row.aggregate_id === null) {
        ready.push(row);
        continue;
      }
      const key = `${row.aggregate_type}\u0000${row.aggregate_id}`;
      const mine = seen.get(key) ?? 0;
      if (blocked.has(key) || Number(row.pending_before ?? 0) !== mine) {
        blocked.add(key); // an earlier event of this aggregate is someone else's: wait for it
        continue;
      }
      seen.set(key, mine + 1);
      ready.push(row);
    }

    const jobs: JobRow[] = [];
    for (const row of ready) {
      const aggregate = row.aggregate_type !== null && row.aggregate_id !== null ? { type: row.aggregate_type, id: row.aggregate_id } : null;
      const event: DispatchedEvent = { id: row.id, type: row.type, aggregate, payload: storage.fromJson(row.payload), createdAt: row.created_at };
      for (const type of registry.subscribers.get(row.type) ?? []) {
        const options: EnqueueOptions = aggregate ? { orderingKey: `${type}|${aggregate.type}|${aggregate.id}`, orderSeq: row.id } : {};
        if (row.traceparent) options.traceparent = row.traceparent;
        jobs.push(buildJobRow(deps, type, event, options, false).row);
      }
    }
    for (let i = 0; i < jobs.length; i += INSERT_CHUNK) await trx.insertInto(JOBS_TABLE).values(jobs.slice(i, i + INSERT_CHUNK)).execute();
    if (ready.length) {
      await trx
        .updateTable(OUTBOX_TABLE)
        .set({ dispatched_at: iso(clock.now()) })
        .where('id', 'in', ready.map((r) => r.id))
        .where('dispatched_at', 'is', null)
        .execute();
    }
    return { locked: rows.length, dispatched: ready.length };
  });
}
