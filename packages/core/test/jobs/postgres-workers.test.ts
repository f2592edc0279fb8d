/** Two workers (two pools, as two processes) on one PostgreSQL database never run the same job at once. */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createWorker, defineModule } from '../../src/index.js';
import { useHarness } from '../support/harness.js';
import { jobsApp, sleep, startWorker, waitFor } from './support.js';

describe('two workers on postgres', () => {
  const h = useHarness();

  it('never run the same job at once, and run every job exactly once', async () => {
    const active = new Set<number>();
    const overlaps: number[] = [];
    const runs = new Map<number, string[]>();
    const mod = (name: string) =>
      defineModule({
        name: 'work',
        jobs: {
          'work.item': {
            payload: z.object({ n: z.number().int() }),
            handler: async ({ payload }) => {
              if (active.has(payload.n)) overlaps.push(payload.n);
              active.add(payload.n);
              runs.set(payload.n, [...(runs.get(payload.n) ?? []), name]);
              await sleep(payload.n % 3);
              active.delete(payload.n);
            },
          },
        },
      });
    const db = await h.database('postgres');
    const a = await jobsApp(h, db.url, { modules: [mod('a')] });
    const b = await jobsApp(h, db.url, { modules: [mod('b')] });
    await a.transaction(async () => {
      for (let n = 0; n < 300; n++) await a.jobs.enqueue('work.item', { n });
    });
    const workers = await Promise.all([startWorker(h, a, { concurrency: 8 }), startWorker(h, b, { concurrency: 8, batchSize: 5 })]);
    await Promise.all(workers.map((w) => w.drain()));
    expect(overlaps).toEqual([]);
    expect(runs.size).toBe(300);
    expect([...runs.values()].every((by) => by.length === 1)).toBe(true);
    // Both took a share.
    const byWorker = [...runs.values()].flat();
    expect(byWorker.filter((w) => w === 'a').length).toBeGreaterThan(0);
    expect(byWorker.filter((w) => w === 'b').length).toBeGreaterThan(0);
    expect((await a.jobs.list({ state: 'completed', limit: 100 })).data).toHaveLength(100);
  });
});

describe('claim statements on postgres', () => {
  const h = useHarness();

  it('run every job once with synchronous commits, over several queues, per job and in batches', async () => {
    const runs = new Map<string, number>();
    const mod = defineModule({
      name: 'work',
      jobs: {
        'work.a': { queue: 'alpha', payload: z.object({ n: z.number().int() }), handler: ({ payload }) => void runs.set(`a${payload.n}`, (runs.get(`a${payload.n}`) ?? 0) + 1) },
        'work.b': { queue: 'beta', payload: z.object({ n: z.number().int() }), handler: ({ payload }) => void runs.set(`b${payload.n}`, (runs.get(`b${payload.n}`) ?? 0) + 1) },
      },
    });
    const db = await h.database('postgres');
    const app = await jobsApp(h, db.url, { modules: [mod], jobs: { synchronousCommit: true } });
    await app.transaction(async () => {
      for (let n = 0; n < 60; n++) await app.jobs.enqueue(n % 2 ? 'work.a' : 'work.b', { n });
    });
    // Two queues: the claim filters on queue = any($4); batch size 1 and 7 each take their statement variant.
    const workers = [await startWorker(h, app, { concurrency: 4, queues: ['alpha', 'beta'] }), await startWorker(h, app, { concurrency: 3, batchSize: 7, queues: ['alpha', 'beta'] })];
    await Promise.all(workers.map((w) => w.drain({ timeoutMs: 30_000 })));
    expect(runs.size).toBe(60);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    const states = await app.db.selectFrom('plinth_jobs').select('state').where('state', '!=', 'completed').execute();
    expect(states).toEqual([]);
  }, 60_000);
});

describe('stopping a worker on postgres', () => {
  const h = useHarness();

  it('returns as soon as a claim in flight is answered, not at the shutdown timeout', async () => {
    const ran: number[] = [];
    const mod = defineModule({
      name: 'work',
      jobs: { 'work.item': { payload: z.object({ n: z.number().int() }), handler: async ({ payload }) => void ran.push(payload.n) } },
    });
    const db = await h.database('postgres');
    const app = await jobsApp(h, db.url, { modules: [mod] });
    await app.transaction(async () => {
      for (let n = 0; n < 3; n++) await app.jobs.enqueue('work.item', { n });
    });
    // Another session holds the jobs table: the worker's claims wait for it.
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    h.defer(() => locker.end());
    const observer = new pg.Client({ connectionString: db.url });
    await observer.connect();
    h.defer(() => observer.end());
    await locker.query('begin');
    await locker.query('lock table plinth_jobs in access exclusive mode');
    const worker = createWorker(app, { concurrency: 4, batchSize: 1 });
    h.defer(() => worker.stop({ timeoutMs: 500 }));
    await worker.start();
    await waitFor(async () => {
      // Not on `locker`: inside its transaction pg_stat_activity is a snapshot taken once.
      const { rows } = await observer.query(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%from plinth_jobs_claim(%'",
      );
      return rows[0].n > 0;
    }, 'a claim waiting for the lock');
    // The lock goes away on the server's own clock while this process is stopping the worker.
    const released = locker.query('select pg_sleep(0.3); commit');
    const started = Date.now();
    const result = await worker.stop({ timeoutMs: 8000 });
    const took = Date.now() - started;
    await released;
    expect(took).toBeLessThan(4000);
    // What the late claims took was given back unrun, the attempt not counted: nothing is left running or lost.
    const rows = await app.db.selectFrom('plinth_jobs').select(['state', 'attempts']).execute();
    expect(rows.map((r) => [r.state, Number(r.attempts)])).toEqual([
      ['queued', 0],
      ['queued', 0],
      ['queued', 0],
    ]);
    expect(ran).toEqual([]);
    // Counted by stop(): the claims landed before it gave jobs back.
    expect(result.released).toBeGreaterThan(0);
    expect(result.released).toBeLessThanOrEqual(3);
  }, 30_000);
});

describe('claims and completions on postgres', () => {
  const h = useHarness();

  it('records a claim’s completions before it locks new jobs, so two claims never deadlock', async () => {
    // A claim that locked new jobs first and then waited to complete a finished one could wait for a
    // session that waits for those new jobs: a deadlock. Here another session holds the finished
    // job's row and then wants the next job: it must find that job unlocked.
    let entered!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const ran: string[] = [];
    const mod = defineModule({
      name: 'work',
      jobs: {
        'work.first': {
          handler: async () => {
            entered();
            await gate;
            ran.push('first');
          },
        },
        'work.next': { handler: () => void ran.push('next') },
      },
    });
    const db = await h.database('postgres');
    const app = await jobsApp(h, db.url, { modules: [mod], jobs: { leaseSeconds: 30 } });
    const first = await app.jobs.enqueue('work.first', {});
    await startWorker(h, app, { concurrency: 1, batchSize: 1 });
    await started;
    const next = await app.jobs.enqueue('work.next', {});

    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    h.defer(() => other.end());
    const observer = new pg.Client({ connectionString: db.url });
    await observer.connect();
    h.defer(() => observer.end());
    await other.query('begin');
    await other.query('select id from plinth_jobs where id = $1 for update', [first.id]);
    open();
    // The worker's next claim carries the first job's completion and waits for `other`.
    await waitFor(async () => {
      const { rows } = await observer.query(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%from plinth_jobs_claim(%'",
      );
      return rows[0].n > 0;
    }, 'the claim waiting to complete the first job');
    // Waiting, the claim holds no lock on the next job (NOWAIT fails at once if it does).
    const { rows } = await other.query('select id from plinth_jobs where id = $1 for update nowait', [next.id]);
    expect(rows).toEqual([{ id: next.id }]);
    await other.query('commit');

    await waitFor(() => ran.includes('next'), 'the next job to run');
    await waitFor(async () => (await app.jobs.get(next.id))?.state === 'completed' || undefined, 'the next job to be completed');
    const states = await app.db.selectFrom('plinth_jobs').select(['id', 'state', 'attempts']).orderBy('id').execute();
    expect(states.map((r) => [r.id, r.state, Number(r.attempts)])).toEqual([
      [first.id, 'completed', 1],
      [next.id, 'completed', 1],
    ]);
    expect(ran).toEqual(['first', 'next']);
  }, 30_000);
});

describe('the claim function on postgres', () => {
  const h = useHarness();

  it('keeps index plans made while the queue was empty once thousands of jobs are queued', async () => {
    const mod = defineModule({ name: 'work', jobs: { 'work.item': { handler: () => undefined } } });
    const db = await h.database('postgres');
    const app = await jobsApp(h, db.url, { modules: [mod] });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    h.defer(() => client.end());
    const claim = async (done: string[]) =>
      (
        await client.query<{ id: string }>(
          "select id from plinth_jobs_claim(now(), $1, 'w1', '{default}', '{work.item}', 2, now() + interval '30 s', true)",
          [done],
        )
      ).rows.map((r) => r.id);
    // The first calls plan every statement of the function on an empty table; those plans are kept.
    expect(await claim([])).toEqual([]);
    expect(await claim(['none'])).toEqual([]);
    await app.transaction(async () => {
      for (let n = 0; n < 2000; n++) await app.jobs.enqueue('work.item', { n });
    });
    const plans: string[] = [];
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    await client.query("load 'auto_explain'");
    await client.query('set auto_explain.log_min_duration = 0');
    await client.query('set auto_explain.log_nested_statements = on');
    await client.query('set client_min_messages = log');
    const first = await claim([]);
    expect(first).toHaveLength(2);
    expect(await claim(first)).toHaveLength(2);
    await client.query('set client_min_messages = notice');
    const text = plans.join('\n');
    expect(text).toContain('Index Scan using plinth_jobs_runnable_idx');
    expect(text).toContain('plinth_jobs_pkey');
    expect(text).not.toMatch(/Seq Scan|Sort/);
    const states = await app.db.selectFrom('plinth_jobs').select('id').where('state', '=', 'completed').execute();
    expect(states.map((r) => r.id).sort()).toEqual([...first].sort());
  }, 30_000);
});
