import { sql } from 'kysely';
import type { Migration } from '../migrations/migration.js';
import { OUTBOX_TABLE } from '../outbox/outbox.js';

export const JOBS_TABLE = 'plinth_jobs';
export const SCHEDULES_TABLE = 'plinth_job_schedules';
/** NOTIFY channels (PostgreSQL): a statement inserting jobs or outbox events signals its commit. */
export const JOBS_CHANNEL = 'plinth_jobs';
export const OUTBOX_CHANNEL = 'plinth_outbox';

/** The job queue: jobs, cron schedules, and the outbox's dispatch mark. */
export const jobsMigration: Migration = {
  name: '0003-create-jobs',
  async up(db, { types, dialect }) {
    await db.schema
      .createTable(JOBS_TABLE)
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('queue', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('payload', types.json, (c) => c.notNull())
      .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('run_at', types.timestamp, (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('unique_key', 'text')
      .addColumn('ordering_key', 'text')
      .addColumn('order_seq', 'text')
      .addColumn('locked_by', 'text')
      .addColumn('locked_until', types.timestamp)
      .addColumn('last_error', 'text')
      .addColumn('created_at', types.timestamp, (c) => c.notNull())
      .addColumn('updated_at', types.timestamp, (c) => c.notNull())
      .addColumn('finished_at', types.timestamp)
      .execute();
    // The claim reads only this small index: due jobs of a queue, best first.
    await sql`create index plinth_jobs_runnable_idx on plinth_jobs (queue, priority desc, run_at, id) where state = 'queued'`.execute(db);
    await sql`create index plinth_jobs_lease_idx on plinth_jobs (locked_until) where state = 'running'`.execute(db);
    await sql`create unique index plinth_jobs_unique_idx on plinth_jobs (unique_key) where unique_key is not null and state in ('queued', 'running')`.execute(db);
    await sql`create index plinth_jobs_ordering_idx on plinth_jobs (ordering_key, order_seq) where ordering_key is not null and state in ('queued', 'running')`.execute(db);
    await db.schema.createIndex('plinth_jobs_state_idx').on(JOBS_TABLE).columns(['state', 'id']).execute();
    await db.schema.createIndex('plinth_jobs_type_idx').on(JOBS_TABLE).columns(['type', 'id']).execute();

    await db.schema
      .createTable(SCHEDULES_TABLE)
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('cron', 'text', (c) => c.notNull())
      .addColumn('next_run_at', types.timestamp, (c) => c.notNull())
      .addColumn('updated_at', types.timestamp, (c) => c.notNull())
      .execute();

    await db.schema.alterTable(OUTBOX_TABLE).addColumn('dispatched_at', types.timestamp).execute();
    await sql`create index plinth_outbox_undispatched_idx on plinth_outbox (id) where dispatched_at is null`.execute(db);

    if (dialect === 'postgres') {
      // One NOTIFY per inserting statement, delivered at commit: idle workers wake at once.
      for (const [table, channel] of [[JOBS_TABLE, JOBS_CHANNEL], [OUTBOX_TABLE, OUTBOX_CHANNEL]] as const) {
        await sql
          .raw(`create function ${table}_notify() returns trigger language plpgsql as $$ begin perform pg_notify('${channel}', ''); return null; end $$`)
          .execute(db);
        await sql.raw(`create trigger ${table}_notify after insert on ${table} for each statement execute function ${table}_notify()`).execute(db);
      }
    }
  },
  async down(db, { dialect }) {
    if (dialect === 'postgres') {
      for (const table of [JOBS_TABLE, OUTBOX_TABLE]) {
        await sql.raw(`drop trigger if exists ${table}_notify on ${table}`).execute(db);
        await sql.raw(`drop function if exists ${table}_notify()`).execute(db);
      }
    }
    await db.schema.dropIndex('plinth_outbox_undispatched_idx').execute();
    await db.schema.alterTable(OUTBOX_TABLE).dropColumn('dispatched_at').execute();
    await db.schema.dropTable(SCHEDULES_TABLE).execute();
    await db.schema.dropTable(JOBS_TABLE).execute();
  },
};

/**
 * Leaner job indexes: every state change of a job is a non-HOT update (`state` is in
 * the partial indexes' predicates), so PostgreSQL adds an entry to every index whose
 * predicate the new row matches. The full `(state, id)` and `(type, id)` listing
 * indexes took two entries per claim and two per completion; these partial ones
 * index only queued, dead and cancelled jobs, which a claim (→ running) and a
 * completion (→ completed) never produce. Lists of completed jobs walk the
 * primary key newest first.
 *
 * The lease index moves from `where state = 'running'` to `where locked_until is
 * not null` (the same rows: a lease is set exactly while a job runs). With the old
 * predicate, a completion (`id = any(..) and state = 'running' and locked_by = ..`)
 * matched the index, and the planner walked it instead of the primary key: every
 * job claimed since the last vacuum leaves a dead entry there, so each completion
 * read the whole index. Queries that want the lease index now say
 * `locked_until is not null` (reaping, heartbeats, listing running jobs).
 */
export const jobsLeanIndexesMigration: Migration = {
  name: '0005-jobs-lean-indexes',
  async up(db) {
    await db.schema.dropIndex('plinth_jobs_state_idx').execute();
    await db.schema.dropIndex('plinth_jobs_type_idx').execute();
    await sql`create index plinth_jobs_listed_state_idx on plinth_jobs (state, id) where state in ('queued', 'dead', 'cancelled')`.execute(db);
    await sql`create index plinth_jobs_listed_type_idx on plinth_jobs (type, id) where state in ('queued', 'dead', 'cancelled')`.execute(db);
    await db.schema.dropIndex('plinth_jobs_lease_idx').execute();
    await sql`create index plinth_jobs_leased_idx on plinth_jobs (locked_until) where locked_until is not null`.execute(db);
  },
  async down(db) {
    await db.schema.dropIndex('plinth_jobs_leased_idx').execute();
    await sql`create index plinth_jobs_lease_idx on plinth_jobs (locked_until) where state = 'running'`.execute(db);
    await db.schema.dropIndex('plinth_jobs_listed_type_idx').execute();
    await db.schema.dropIndex('plinth_jobs_listed_state_idx').execute();
    await db.schema.createIndex('plinth_jobs_state_idx').on(JOBS_TABLE).columns(['state', 'id']).execute();
    await db.schema.createIndex('plinth_jobs_type_idx').on(JOBS_TABLE).columns(['type', 'id']).execute();
  },
};

/**
 * The PostgreSQL claim as a function, `plinth_jobs_claim(now, completed ids, worker, queues,
 * types, limit, lease end, async commit)`, so that its plans are made once per connection.
 * As a prepared statement the claim was planned again on every execution: PostgreSQL keeps
 * custom plans while their estimated cost beats the generic plan's, and a generic plan's
 * `limit $n` and `id = any($n)` are costed for many rows, so it never switched (planning
 * was about a third of the database's CPU per per-job claim). In the function each
 * statement keeps one generic plan (`plan_cache_mode = force_generic_plan`, for the function
 * only). `enable_sort = off` keeps that plan on the `runnable_idx` scan however many jobs are
 * queued (a generic plan costs `limit $n` as a tenth of the rows, and with a long queue a
 * sort of every due job could look cheaper); with several queues the sort stays (the index
 * gives one queue's order), and `jit = off` keeps the cost that `enable_sort = off` adds
 * from starting JIT compilation.
 *
 * The statements, in order: switch this transaction to asynchronous commit when asked
 * (`set_config(.., true)` is transaction-local and outlives the function); complete the
 * finished jobs this worker still holds; lock the due jobs (`for update skip locked`, best
 * first, jobs whose ordering key has an earlier queued or running job skipped); lease them.
 * Completions come first: the claim waits for a row only before it holds any lock, and the
 * lock step never waits, so two claims cannot deadlock.
 */
export const jobsClaimFunctionMigration: Migration = {
  name: '0006-jobs-claim-function',
  async up(db, { dialect }) {
    if (dialect !== 'postgres') return;
    const due = (queueFilter: string) => `array(
      select j.id from plinth_jobs j
      where j.state = 'queued' and ${queueFilter} and j.run_at <= p_now and j.type = any(p_types)
        and (j.ordering_key is null or not exists (
          select 1 from plinth_jobs p
          where p.ordering_key = j.ordering_key and p.state in ('queued', 'running') and p.order_seq < j.order_seq))
      order by j.priority desc, j.run_at, j.id
      limit p_limit
      for update skip locked)`;
    await sql
      .raw(
        `create function plinth_jobs_claim(p_now timestamptz, p_done text[], p_worker text, p_queues text[], p_types text[], p_limit integer, p_lease timestamptz, p_async boolean)
returns table (id text, type text, queue text, payload jsonb, attempts integer, max_attempts integer, run_at timestamptz, traceparent text)
language plpgsql volatile
set plan_cache_mode = force_generic_plan
set enable_sort = off
set enable_seqscan = off
set jit = off
as $$
#variable_conflict use_column
declare
  ids text[];
begin
  if p_async then
    perform set_config('synchronous_commit', 'off', true);
  end if;
  if cardinality(p_done) > 0 then
    update plinth_jobs j set state = 'completed', locked_by = null, locked_until = null, finished_at = p_now, updated_at = p_now
    where j.id = any(p_done) and j.state = 'running' and j.locked_by = p_worker;
  end if;
  if cardinality(p_queues) = 1 then
    ids := ${due('j.queue = p_queues[1]')};
  else
    ids := ${due('j.queue = any(p_queues)')};
  end if;
  if cardinality(ids) > 0 then
    return query
      update plinth_jobs j set state = 'running', attempts = j.attempts + 1, locked_by = p_worker, locked_until = p_lease, updated_at = p_now
      where j.id = any(ids)
      returning j.id, j.type, j.queue, j.payload, j.attempts, j.max_attempts, j.run_at, j.traceparent;
  end if;
end
$$`,
      )
      .execute(db);
  },
  async down(db, { dialect }) {
    if (dialect !== 'postgres') return;
    await sql.raw('drop function if exists plinth_jobs_claim(timestamptz, text[], text, text[], text[], integer, timestamptz, boolean)').execute(db);
  },
};
