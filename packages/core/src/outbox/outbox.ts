import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Clock } from '../clock.js';
import { PlinthError } from '../errors.js';
import type { IdGenerator } from '../ids.js';
import type { Migration } from '../migrations/migration.js';
import { executeLater } from '../storage/error-mapping.js';
import { FixedInsert } from '../storage/fixed-insert.js';
import type { Storage } from '../storage/storage.js';
import { currentTraceparent } from '../trace/context.js';

/** An event to record in the outbox. It is published only if its transaction commits. */
export interface EventInput {
  /** Declared event type, e.g. `order.paid`. */
  type: string;
  /** What the event is about, e.g. `{ type: 'order', id }`: events of one aggregate stay in order. */
  aggregate?: { type: string; id: string };
  payload: unknown;
}

export interface OutboxEvent {
  id: string;
  type: string;
  aggregateType: string | null;
  aggregateId: string | null;
  payload: unknown;
  createdAt: string;
  /** W3C `traceparent` of the request or job that emitted it, when there was one. */
  traceparent?: string | null;
}

export const OUTBOX_TABLE = 'plinth_outbox';

export const outboxMigration: Migration = {
  name: '0001-create-outbox',
  async up(db, { types }) {
    await db.schema
      .createTable(OUTBOX_TABLE)
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('aggregate_type', 'text')
      .addColumn('aggregate_id', 'text')
      .addColumn('payload', types.json, (c) => c.notNull())
      .addColumn('created_at', types.timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('plinth_outbox_aggregate_idx').on(OUTBOX_TABLE).columns(['aggregate_type', 'aggregate_id', 'id']).execute();
  },
  async down(db) {
    await db.schema.dropTable(OUTBOX_TABLE).execute();
  },
};

/** An event's row: a plain insert, compiled once (every transaction that emits writes one). */
const OUTBOX_INSERT = new FixedInsert<Record<'id' | 'type' | 'aggregate_type' | 'aggregate_id' | 'payload' | 'created_at' | 'traceparent', unknown>>(OUTBOX_TABLE, [
  'id', 'type', 'aggregate_type', 'aggregate_id', 'payload', 'created_at', 'traceparent',
]);

/** Validates an event against its declared schema and writes it with the transaction's connection. */
export async function writeOutboxEvent(
  trx: Kysely<any>,
  deps: { storage: Storage; clock: Clock; ids: IdGenerator; schemas: ReadonlyMap<string, z.ZodType> },
  event: EventInput,
): Promise<OutboxEvent> {
  const schema = deps.schemas.get(event?.type);
  if (!schema) {
    throw new PlinthError('outbox.unknown_event', `Event type "${String(event?.type)}" is not declared by any module`);
  }
  const parsed = schema.safeParse(event.payload);
  if (!parsed.success) {
    throw new PlinthError('outbox.invalid_event', `Event "${event.type}" has an invalid payload: ${parsed.error.message}`, {
      cause: parsed.error,
    });
  }
  const row: OutboxEvent = {
    id: deps.ids.next(),
    type: event.type,
    aggregateType: event.aggregate?.type ?? null,
    aggregateId: event.aggregate?.id ?? null,
    payload: parsed.data,
    createdAt: new Date(deps.clock.now()).toISOString(),
  };
  // Nothing is read back: on PostgreSQL the row goes out with the transaction's next statement.
  await executeLater(
    trx,
    OUTBOX_INSERT.compile(deps.storage.dialect, [
      {
        id: row.id,
        type: row.type,
        aggregate_type: row.aggregateType,
        aggregate_id: row.aggregateId,
        payload: deps.storage.toJson(row.payload),
        created_at: row.createdAt,
        traceparent: (row.traceparent = currentTraceparent() ?? null),
      },
    ]),
  );
  return row;
}
