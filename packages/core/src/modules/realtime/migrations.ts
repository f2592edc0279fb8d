import { sql } from 'kysely';
import type { Migration } from '../../migrations/migration.js';

/** The realtime log: committed events in commit order, kept `realtime.retentionHours`. */
export const REALTIME_TABLE = 'plinth_realtime_events';
/** One row: the last `seq` handed out. Its row lock orders appends by commit. */
export const REALTIME_HEAD_TABLE = 'plinth_realtime_head';
/** NOTIFY channel (PostgreSQL): a statement appending to the log signals its commit. */
export const REALTIME_CHANNEL = 'plinth_realtime';

const createLog: Migration = {
  name: '0001-create-realtime-log',
  async up(db, { types, dialect }) {
    await db.schema
      .createTable(REALTIME_TABLE)
      // Not a serial: `seq` comes from the head row, under its lock, so seq order is commit order.
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('event_id', 'text', (c) => c.notNull().unique())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('aggregate_type', 'text')
      .addColumn('aggregate_id', 'text')
      .addColumn('owner_id', 'text')
      .addColumn('payload', types.json, (c) => c.notNull())
      .addColumn('created_at', types.timestamp, (c) => c.notNull())
      .addColumn('published_at', types.timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('plinth_realtime_events_topic_idx').on(REALTIME_TABLE).columns(['topic', 'seq']).execute();
    await db.schema.createIndex('plinth_realtime_events_published_idx').on(REALTIME_TABLE).columns(['published_at']).execute();
    await db.schema
      .createTable(REALTIME_HEAD_TABLE)
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      // Everything up to here was pruned: a resume from before it has missed events.
      .addColumn('pruned_seq', 'bigint', (c) => c.notNull())
      .execute();
    await db.insertInto(REALTIME_HEAD_TABLE).values({ id: 1, seq: 0, pruned_seq: 0 }).execute();
    if (dialect === 'postgres') {
      await sql
        .raw(`create function ${REALTIME_TABLE}_notify() returns trigger language plpgsql as $$ begin perform pg_notify('${REALTIME_CHANNEL}', ''); return null; end $$`)
        .execute(db);
      await sql.raw(`create trigger ${REALTIME_TABLE}_notify after insert on ${REALTIME_TABLE} for each statement execute function ${REALTIME_TABLE}_notify()`).execute(db);
    }
  },
  async down(db, { dialect }) {
    if (dialect === 'postgres') {
      await sql.raw(`drop trigger if exists ${REALTIME_TABLE}_notify on ${REALTIME_TABLE}`).execute(db);
      await sql.raw(`drop function if exists ${REALTIME_TABLE}_notify()`).execute(db);
    }
    await db.schema.dropTable(REALTIME_HEAD_TABLE).execute();
    await db.schema.dropTable(REALTIME_TABLE).execute();
  },
};

export const realtimeMigrations: readonly Migration[] = [createLog];
