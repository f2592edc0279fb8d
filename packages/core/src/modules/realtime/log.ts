import { sql } from 'kysely';
import type { DispatchedEvent } from '../../jobs/dispatcher.js';
import type { KernelContext } from '../../module.js';
import { REALTIME_HEAD_TABLE, REALTIME_TABLE } from './migrations.js';

/** One entry of the realtime log. */
export interface LogEntry {
  seq: number;
  eventId: string;
  type: string;
  topic: string;
  aggregate: { type: string; id: string } | null;
  ownerId: string | null;
  payload: unknown;
  createdAt: string;
}

interface LogRow {
  seq: number | string;
  event_id: string;
  type: string;
  topic: string;
  aggregate_type: string | null;
  aggregate_id: string | null;
  owner_id: string | null;
  payload: unknown;
  created_at: string | Date;
}

const iso = (value: string | Date) => (value instanceof Date ? value.toISOString() : value);

class AlreadyLogged extends Error {}

/**
 * Appends a committed outbox event to the log, once (a second run of the same job is a no-op).
 * `seq` comes from the head row, taken first: its row lock holds until commit, so appends commit
 * one at a time and a reader that sees `seq = n` has every committed `seq < n` (no gaps for a
 * cursor, unlike sequence values, which commit out of order). Answers whether it appended.
 */
export async function appendToLog(
  kernel: KernelContext,
  event: DispatchedEvent,
  topic: string,
  ownerId: string | null,
): Promise<boolean> {
  const { storage } = kernel;
  try {
    await kernel.transaction(async ({ db }) => {
      const head = await db
        .updateTable(REALTIME_HEAD_TABLE)
        .set({ seq: sql`seq + 1` })
        .where('id', '=', 1)
        .returning('seq')
        .executeTakeFirstOrThrow();
      const logged = await db.selectFrom(REALTIME_TABLE).select('seq').where('event_id', '=', event.id).executeTakeFirst();
      if (logged) throw new AlreadyLogged(); // rolls the head back too
      await db
        .insertInto(REALTIME_TABLE)
        .values({
          seq: Number(head.seq),
          event_id: event.id,
          type: event.type,
          topic,
          aggregate_type: event.aggregate?.type ?? null,
          aggregate_id: event.aggregate?.id ?? null,
          owner_id: ownerId,
          payload: storage.toJson(event.payload),
          created_at: event.createdAt,
          published_at: new Date(kernel.clock.now()).toISOString(),
        })
        .execute();
    });
    return true;
  } catch (error) {
    if (error instanceof AlreadyLogged) return false;
    throw error;
  }
}

function entryOf(kernel: KernelContext, row: LogRow): LogEntry {
  return {
    seq: Number(row.seq),
    eventId: row.event_id,
    type: row.type,
    topic: row.topic,
    aggregate: row.aggregate_type !== null && row.aggregate_id !== null ? { type: row.aggregate_type, id: row.aggregate_id } : null,
    ownerId: row.owner_id,
    payload: kernel.storage.fromJson(row.payload),
    createdAt: iso(row.created_at),
  };
}

/** Committed entries after `seq`, in order; optionally only some topics (and one owner's). */
export async function readLog(
  kernel: KernelContext,
  after: number,
  limit: number,
  filter?: { topics: readonly string[]; ownerId?: string | undefined },
): Promise<LogEntry[]> {
  let query = kernel.storage.db.selectFrom(REALTIME_TABLE).selectAll().where('seq', '>', after);
  if (filter) {
    query = query.where('topic', 'in', filter.topics);
    if (filter.ownerId !== undefined) query = query.where('owner_id', '=', filter.ownerId);
  }
  const rows = (await query.orderBy('seq').limit(limit).execute()) as LogRow[];
  return rows.map((row) => entryOf(kernel, row));
}

/** The last committed `seq`, and the last one pruned (a resume from before it missed events). */
export async function logHead(kernel: KernelContext): Promise<{ seq: number; prunedSeq: number }> {
  const row = await kernel.storage.db.selectFrom(REALTIME_HEAD_TABLE).select(['seq', 'pruned_seq']).where('id', '=', 1).executeTakeFirstOrThrow();
  return { seq: Number(row.seq), prunedSeq: Number(row.pruned_seq) };
}

/** Deletes entries published before `before`; answers how many. */
export async function pruneLog(kernel: KernelContext, before: Date): Promise<number> {
  return kernel.transaction(async ({ db }) => {
    const last = await db
      .selectFrom(REALTIME_TABLE)
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('published_at', '<', before.toISOString())
      .executeTakeFirst();
    if (last?.seq === null || last?.seq === undefined) return 0;
    const through = Number(last.seq);
    const deleted = await db.deleteFrom(REALTIME_TABLE).where('seq', '<=', through).executeTakeFirst();
    await db
      .updateTable(REALTIME_HEAD_TABLE)
      .set({ pruned_seq: sql`case when pruned_seq < ${through} then ${through} else pruned_seq end` })
      .where('id', '=', 1)
      .execute();
    return Number(deleted.numDeletedRows);
  });
}
