import { type Kysely, sql } from 'kysely';
import type { Migration } from '../../migrations/migration.js';
import { chainHash, GENESIS_HASH } from './chain.js';

export const AUDIT_TABLE = 'audit_events';
/** One row (id 1): the sequence number and hash of the newest event. Locked by every append. */
export const AUDIT_HEAD_TABLE = 'audit_chain_head';

export const auditMigrations: Migration[] = [
  {
    name: '0001-create-audit-events',
    async up(db, { types }) {
      await db.schema
        .createTable(AUDIT_TABLE)
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text')
        .addColumn('target_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('request_id', 'text')
        .addColumn('data', types.json, (c) => c.notNull())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_action_idx').on(AUDIT_TABLE).columns(['action', 'id']).execute();
      await db.schema.createIndex('audit_events_actor_idx').on(AUDIT_TABLE).columns(['actor_id', 'id']).execute();
      await db.schema.createIndex('audit_events_target_idx').on(AUDIT_TABLE).columns(['target_id', 'id']).execute();
    },
    async down(db) {
      await db.schema.dropTable(AUDIT_TABLE).execute();
    },
  },
  {
    // The hash chain: existing events are chained in id order, then the table becomes append-only.
    name: '0002-hash-chain',
    async up(db, { dialect }) {
      await db.schema.alterTable(AUDIT_TABLE).addColumn('seq', 'bigint').execute();
      await db.schema.alterTable(AUDIT_TABLE).addColumn('prev_hash', 'text').execute();
      await db.schema.alterTable(AUDIT_TABLE).addColumn('hash', 'text').execute();
      await db.schema
        .createTable(AUDIT_HEAD_TABLE)
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      let seq = 0;
      let prev = GENESIS_HASH;
      const rows = await db.selectFrom(AUDIT_TABLE).selectAll().orderBy('id').execute();
      for (const r of rows as Record<string, any>[]) {
        seq++;
        const hash = chainHash(prev, {
          seq, id: r.id, actorType: r.actor_type, actorId: r.actor_id, action: r.action, targetType: r.target_type, targetId: r.target_id,
          ip: r.ip, userAgent: r.user_agent, requestId: r.request_id, data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data, createdAt: r.created_at,
        });
        await db.updateTable(AUDIT_TABLE).set({ seq, prev_hash: prev, hash }).where('id', '=', r.id).execute();
        prev = hash;
      }
      await db.insertInto(AUDIT_HEAD_TABLE).values({ id: 1, seq, hash: prev }).execute();
      await db.schema.createIndex('audit_events_seq_idx').on(AUDIT_TABLE).column('seq').unique().execute();
      await appendOnly(db, dialect, true);
    },
    async down(db, { dialect }) {
      await appendOnly(db, dialect, false);
      await db.schema.dropIndex('audit_events_seq_idx').execute();
      await db.schema.dropTable(AUDIT_HEAD_TABLE).execute();
      for (const column of ['hash', 'prev_hash', 'seq']) await db.schema.alterTable(AUDIT_TABLE).dropColumn(column).execute();
    },
  },
];

/** Triggers that refuse UPDATE and DELETE on audit events, whoever runs them. */
async function appendOnly(db: Kysely<any>, dialect: 'sqlite' | 'postgres', on: boolean): Promise<void> {
  if (dialect === 'sqlite') {
    for (const op of ['update', 'delete']) {
      await sql
        .raw(
          on
            ? `create trigger audit_events_no_${op} before ${op} on ${AUDIT_TABLE} begin select raise(abort, 'audit events are append-only'); end`
            : `drop trigger if exists audit_events_no_${op}`,
        )
        .execute(db);
    }
    return;
  }
  if (on) {
    await sql
      .raw(
        `create or replace function plinth_audit_append_only() returns trigger language plpgsql as $$
         begin raise exception 'audit events are append-only'; end $$`,
      )
      .execute(db);
    await sql.raw(`create trigger audit_events_append_only before update or delete on ${AUDIT_TABLE} for each row execute function plinth_audit_append_only()`).execute(db);
  } else {
    await sql.raw(`drop trigger if exists audit_events_append_only on ${AUDIT_TABLE}`).execute(db);
    await sql.raw('drop function if exists plinth_audit_append_only()').execute(db);
  }
}
