import type { Migration } from '../migrations/migration.js';
import { OUTBOX_TABLE } from '../outbox/outbox.js';

/** The W3C `traceparent` of the request or job that wrote an outbox event or a job (null when none). */
export const traceContextMigration: Migration = {
  name: '0004-trace-context',
  async up(db) {
    await db.schema.alterTable(OUTBOX_TABLE).addColumn('traceparent', 'text').execute();
    await db.schema.alterTable('plinth_jobs').addColumn('traceparent', 'text').execute();
  },
  async down(db) {
    await db.schema.alterTable('plinth_jobs').dropColumn('traceparent').execute();
    await db.schema.alterTable(OUTBOX_TABLE).dropColumn('traceparent').execute();
  },
};
