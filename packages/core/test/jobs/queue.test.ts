/**
 * The job queue through its public API (`plinth.jobs`, `createWorker`), on
 * SQLite and PostgreSQL: enqueue inside transactions, retries with backoff,
 * dead letters, scheduling, priorities, unique keys, cron, graceful stop.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createManualClock, defineModule, type JobContext, type Plinth } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { jobsApp, sleep, startWorker, waitFor } from './support.js';

describe.each(dialects)('the job queue on %s', (dialect) => {
  const h = useHarness();

  it('enqueues inside the transaction: a rolled-back job never exists, a committed one runs once with attempt 1', async () => {
    const runs: { payload: unknown; attempt: number }[] = [];
    const mod = defineModule({
      name: 'mail',
      migrations: [{ name: '0001-notes', up: (db) => db.schema.createTable('notes').addColumn('id', 'text', (c) => c.primaryKey()).execute(), down: (db) => db.schema.dropTable('notes').execute() }],
      jobs: { 'mail.send': { payload: z.object({ to: z.string().email() }), handler: ({ payload, attempt }) => void runs.push({ payload, attempt }) } },
    });
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { modules: [mod] });

    await expect(
      plinth.transaction(async (tx) => {
        await tx.db.insertInto('notes').values({ id: 'n1' }).execute();
        await plinth.jobs.enqueue('mail.send', { to: 'lost@example.com' });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    expect((await plinth.jobs.list()).data).toEqual([]);

    const job = await plinth.transaction(async (tx) => {
      await tx.db.insertInto('notes').values({ id: 'n2' }).execute();
      return plinth.jobs.enqueue('mail.send', { to: 'ann@example.com' });
    });
    expect(job).toMatchObject({ type: 'mail.send', queue: 'default', state: 'queued', attempts: 0, maxAttempts: 5, payload: { to: 'ann@example.com' } });

    // Bad input to enqueue is a programming error with a stable code, and writes nothing.
    await expect(plinth.jobs.enqueue('mail.nope', {})).rejects.toMatchObject({ code: 'jobs.unknown_type' });
    await expect(plinth.jobs.enqueue('mail.send', { to: 'not an email' })).rejects.toMatchObject({ code: 'jobs.invalid_payload' });
    await expect(plinth.jobs.enqueue('mail.send', { to: 'a@example.com' }, { runAt: 'yesterday-ish' })).rejects.toMatchObject({ code: 'jobs.invalid_options' });

    const worker = await startWorker(h, plinth);
    await worker.drain();
    expect(runs).toEqual([{ payload: { to: 'ann@example.com' }, attempt: 1 }]);
    expect(await plinth.jobs.get(job.id)).toMatchObject({ state: 'completed', attempts: 1, lockedBy: null, finishedAt: expect.any(String) });
    expect((await plinth.jobs.list()).data).toHaveLength(1);
  });

  it('retries a failing handler with growing delays, then succeeds on attempt N+1', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const attempts: number[] = [];
    const mod = defineModule({
      name: 'flaky',
      jobs: {
        'flaky.work': {
          maxAttempts: 6,
          handler: ({ attempt }: JobContext) => {
            attempts.push(attempt);
            if (attempt <= 3) throw new Error(`boom ${attempt}`);
          },
        },
      },
    });
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { modules: [mod], clock });
    const { id } = await plinth.jobs.enqueue('flaky.work', {});
    await startWorker(h, plinth);

    const delays: number[] = [];
    for (let failure = 1; failure <= 3; failure++) {
      const job = await waitFor(async () => {
        const j = await plinth.jobs.get(id);
        return j?.state === 'queued' && j.attempts === failure ? j : undefined;
      }, `failure ${failure}`);
      expect(job.lastError).toBe(`boom ${failure}`);
      const delay = Date.parse(job.runAt) - clock.now();
      // 1 s doubling, with jitter in the upper half of each step.
      expect(delay).toBeGreaterThanOrEqual(500 * 2 ** (failure - 1));
      expect(delay).toBeLessThanOrEqual(1000 * 2 ** (failure - 1));
      delays.push(delay);
      await sleep(60); // not due yet: nothing runs
      expect(attempts).toHaveLength(failure);
      clock.advance(delay);
    }
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
    expect(delays[2]!).toBeGreaterThan(delays[1]!);
    await waitFor(async () => (await plinth.jobs.get(id))?.state === 'completed', 'completion');
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(await plinth.jobs.get(id)).toMatchObject({ attempts: 4, lastError: 'boom 3' });
  });

  it('dead-letters a job that always fails, keeps it for inspection, and runs it again on retry', async () => {
    let healthy = false;
    const mod = defineModule({
      name: 'hook',
      jobs: {
        'hook.call': {
          maxAttempts: 3,
          backoff: () => 0,
          handler: () => {
            if (!healthy) throw new Error('receiver down');
          },
        },
      },
    });
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { modules: [mod] });
    const { id } = await plinth.jobs.enqueue('hook.call', { n: 1 });
    const worker = await startWorker(h, plinth);
    await worker.drain();
    expect(await plinth.jobs.get(id)).toMatchObject({ state: 'dead', attempts: 3, lastError: 'receiver down', finishedAt: expect.any(String) });
    expect((await plinth.jobs.list({ state: 'dead' })).data.map((j) => j.id)).toEqual([id]);

    healthy = true;
    expect(await plinth.jobs.retry(id)).toMatchObject({ state: 'queued', attempts: 0 });
    await worker.drain();
    expect(await plinth.jobs.get(id)).toMatchObject({ state: 'completed', attempts: 1 });
    await expect(plinth.jobs.retry(id)).rejects.toMatchObject({ code: 'jobs.invalid_state', status: 409 });
    await expect(plinth.jobs.cancel(id)).rejects.toMatchObject({ code: 'jobs.invalid_state' });
    await expect(plinth.jobs.retry('no-such-job')).rejects.toMatchObject({ code: 'jobs.not_found', status: 404 });
  });

  it('runs scheduled jobs at their time, higher priority first, and cancels queued ones', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const order: string[] = [];
    const mod = defineModule({ name: 'seq', jobs: { 'seq.step': { payload: z.object({ name: z.string() }), handler: ({ payload }) => void order.push(payload.name) } } });
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { modules: [mod], clock });
    await plinth.transaction(async () => {
      await plinth.jobs.enqueue('seq.step', { name: 'low' });
      await plinth.jobs.enqueue('seq.step', { name: 'high' }, { priority: 10 });
      await plinth.jobs.enqueue('seq.step', { name: 'later' }, { delayMs: 60_000 });
    });
    const doomed = await plinth.jobs.enqueue('seq.step', { name: 'cancelled' }, { runAt: new Date(clock.now() + 1000) });
    expect(await plinth.jobs.cancel(doomed.id)).toMatchObject({ state: 'cancelled' });

    const worker = await startWorker(h, plinth, { concurrency: 1 });
    await worker.drain();
    expect(order).toEqual(['high', 'low']);
    clock.advance(60_000);
    await worker.drain();
    expect(order).toEqual(['high', 'low', 'later']);
    expect(await plinth.jobs.get(doomed.id)).toMatchObject({ state: 'cancelled' });
  });

  it('answers the queued job for a unique key instead of adding a second one; a finished key may be used again', async () => {
    const runs: unknown[] = [];
    const mod = defineModule({ name: 'idx', jobs: { 'idx.rebuild': { handler: ({ payload }) => void runs.push(payload) } } });
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { modules: [mod] });
    const first = await plinth.jobs.enqueue('idx.rebuild', { n: 1 }, { uniqueKey: 'catalog' });
    const second = await plinth.transaction(() => plinth.jobs.enqueue('idx.rebuild', { n: 2 }, { uniqueKey: 'catalog' }));
    expect(second.id).toBe(first.id);
    expect(second.payload).toEqual({ n: 1 });
    const worker = await startWorker(h, plinth);
    await worker.drain();
    expect(runs).toEqual([{ n: 1 }]);
    const third = await plinth.jobs.enqueue('idx.rebuild', { n: 3 }, { uniqueKey: 'catalog' });
    expect(third.id).not.toBe(first.id);
    await worker.drain();
    expect(runs).toEqual([{ n: 1 }, { n: 3 }]);
  });

  it('runs a cron job once per tick with three workers', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const ticks: string[] = [];
    const mod = () =>
      defineModule({
        name: 'report',
        jobs: { 'report.hourly': { cron: '0 * * * *', payload: z.object({ scheduledAt: z.string() }), handler: ({ payload }) => void ticks.push(payload.scheduledAt) } },
      });
    const db = await h.database(dialect);
    // PostgreSQL: three instances (three pools), as three processes would be. SQLite belongs to one
    // process and one connection: its three workers share the instance.
    const apps: Plinth[] = [];
    for (let i = 0; i < 3; i++) apps.push(dialect === 'sqlite' && apps[0] ? apps[0] : await jobsApp(h, db.url, { modules: [mod()], clock }));
    const workers = [];
    for (const app of apps) workers.push(await startWorker(h, app));

    for (let hour = 1; hour <= 3; hour++) {
      clock.set(Date.UTC(2026, 0, 1, hour, 0, 0));
      await waitFor(() => ticks.length >= hour, `tick ${hour}`);
      await sleep(100); // every worker polled this tick at least once more
    }
    expect(ticks).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);

    // Missed ticks (no worker saw 04:00..06:00) collapse into one run.
    clock.set(Date.UTC(2026, 0, 1, 6, 30, 0));
    await waitFor(() => ticks.length >= 4, 'the catch-up tick');
    await sleep(100);
    expect(ticks.slice(3)).toEqual(['2026-01-01T04:00:00.000Z']);
    const jobs = await apps[0]!.jobs.list({ type: 'report.hourly' });
    expect(jobs.data).toHaveLength(4);
  });

  it('stops gracefully: a job that does not finish in time is released (its attempt not counted) and runs on another worker', async () => {
    let calls = 0;
    const mod = defineModule({
      name: 'slow',
      jobs: {
        'slow.work': {
          handler: async ({ attempt, signal }: JobContext) => {
            calls++;
            if (calls === 1) {
              await new Promise((resolve) => signal.addEventListener('abort', resolve));
              return;
            }
            expect(attempt).toBe(1);
          },
        },
      },
    });
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { modules: [mod] });
    const { id } = await plinth.jobs.enqueue('slow.work', {});
    const first = await startWorker(h, plinth);
    // The handler itself must be running: a claim answered after stop() began is released before it runs.
    await waitFor(() => calls === 1, 'the first run');
    expect(await first.stop({ timeoutMs: 50 })).toEqual({ released: 1 });
    expect(await plinth.jobs.get(id)).toMatchObject({ state: 'queued', attempts: 0, lockedBy: null });

    const second = await startWorker(h, plinth);
    await second.drain();
    expect(await plinth.jobs.get(id)).toMatchObject({ state: 'completed', attempts: 1 });
    expect(calls).toBe(2);
  });

  it('lists and counts jobs in every state, by state and by type (the listing indexes cover only some states)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const mod = defineModule({
      name: 'ls',
      jobs: {
        'ls.hold': { handler: () => gate },
        'ls.ok': { handler: () => undefined },
        'ls.bad': { maxAttempts: 1, handler: () => Promise.reject(new Error('no')) },
      },
    });
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { modules: [mod], jobs: { leaseSeconds: 30 } });
    const held = await plinth.jobs.enqueue('ls.hold', {});
    const ok = await plinth.jobs.enqueue('ls.ok', {});
    const bad = await plinth.jobs.enqueue('ls.bad', {});
    const later = await plinth.jobs.enqueue('ls.ok', {}, { delayMs: 3_600_000 });
    const cancelled = await plinth.jobs.enqueue('ls.ok', {}, { delayMs: 3_600_000 });
    await plinth.jobs.cancel(cancelled.id);
    await startWorker(h, plinth, { concurrency: 3 });
    await waitFor(async () => (await plinth.jobs.get(bad.id))?.state === 'dead' && (await plinth.jobs.get(ok.id))?.state === 'completed', 'the quick jobs to finish');
    await waitFor(async () => (await plinth.jobs.get(held.id))?.state === 'running', 'the held job to run');

    const ids = async (query: Parameters<Plinth['jobs']['list']>[0]) => (await plinth.jobs.list(query)).data.map((j) => j.id);
    expect(await ids({ state: 'running' })).toEqual([held.id]);
    expect(await ids({ state: 'completed' })).toEqual([ok.id]);
    expect(await ids({ state: 'dead' })).toEqual([bad.id]);
    expect(await ids({ state: 'queued' })).toEqual([later.id]);
    expect(await ids({ state: 'cancelled' })).toEqual([cancelled.id]);
    expect(await ids({ type: 'ls.ok' })).toEqual([cancelled.id, later.id, ok.id]);
    expect(await ids({ type: 'ls.ok', state: 'queued' })).toEqual([later.id]);
    expect(await ids({ type: 'ls.hold', state: 'running' })).toEqual([held.id]);
    const text = await plinth.metrics.metrics();
    expect(text).toContain('plinth_jobs{state="running",queue="default"} 1');
    expect(text).toContain('plinth_jobs{state="queued",queue="default"} 1');
    expect(text).toContain('plinth_jobs{state="dead",queue="default"} 1');
    release();
    await waitFor(async () => (await plinth.jobs.get(held.id))?.state === 'completed', 'the held job to complete');
    expect(await ids({ state: 'running' })).toEqual([]);
    expect(await ids({ state: 'completed' })).toEqual([ok.id, held.id]); // newest first
  });

  it('fails a run that passes its timeout, and counts jobs on the metrics registry', async () => {
    const mod = defineModule({
      name: 'tm',
      jobs: {
        'tm.hang': { maxAttempts: 1, timeoutMs: 50, handler: ({ signal }: JobContext) => new Promise((resolve) => signal.addEventListener('abort', resolve)) },
        'tm.ok': { handler: () => undefined },
      },
    });
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { modules: [mod] });
    const hang = await plinth.jobs.enqueue('tm.hang', {});
    await plinth.jobs.enqueue('tm.ok', {});
    await plinth.jobs.enqueue('tm.ok', {}, { delayMs: 3_600_000 });
    const worker = await startWorker(h, plinth);
    await worker.drain();
    expect(await plinth.jobs.get(hang.id)).toMatchObject({ state: 'dead', lastError: 'JobTimeoutError: timed out after 50 ms' });

    const text = await plinth.metrics.metrics();
    expect(text).toContain('plinth_jobs_processed_total{type="tm.ok",outcome="completed"} 1');
    expect(text).toContain('plinth_jobs_processed_total{type="tm.hang",outcome="dead"} 1');
    expect(text).toContain('plinth_jobs_failed_total{type="tm.hang"} 1');
    expect(text).toContain('plinth_jobs{state="queued",queue="default"} 1');
    expect(text).toContain('plinth_jobs{state="dead",queue="default"} 1');
    expect(text).toMatch(/plinth_jobs_claim_latency_seconds_count\{queue="default"\} 2/);
  });

  it('rejects bad job declarations when the app is created', async () => {
    const url = (await h.database(dialect)).url;
    const bad = (jobs: object, extra: object = {}) => () => h.plinth(url, { modules: [defineModule({ name: 'bad', jobs: jobs as never, ...extra })] });
    expect(bad({ 'Bad Name': { handler: () => {} } })).toThrow(/Job type "Bad Name"/);
    expect(bad({ 'x.cron': { cron: 'every tuesday', handler: () => {} } })).toThrow(/invalid cron expression/);
    expect(bad({ 'x.a': { handler: () => {} } }, { subscribers: { 'no.event': 'x.a' } })).toThrow(/no module declares/);
    expect(bad({ 'x.a': { handler: () => {} } }, { events: { 'x.happened': z.object({}) }, subscribers: { 'x.happened': 'x.missing' } })).toThrow(/no module declares that job type/);
  });
});
