/**
 * The outbox dispatcher: committed events become one job per subscriber, in
 * order per aggregate, exactly once across restarts; never "after the highest id".
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule, type DispatchedEvent, type JobContext } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { jobsApp, sleep, startWorker, waitFor } from './support.js';

function ordersModule(log: string[], options: { slow?: boolean } = {}) {
  const record = (name: string) => async ({ payload }: JobContext<DispatchedEvent>) => {
    const { step } = payload.payload as { step: number };
    // Later events of one order finish faster: only the ordering keeps them in order.
    if (options.slow) await sleep(Math.max(0, 30 - step * 5));
    log.push(`${name}:${payload.aggregate?.id}:${step}`);
  };
  return defineModule({
    name: 'orders',
    events: { 'order.changed': z.object({ step: z.number().int() }), 'order.noticed': z.object({}) },
    jobs: { 'orders.mail': { handler: record('mail') }, 'orders.webhook': { handler: record('hook') } },
    subscribers: { 'order.changed': ['orders.mail', 'orders.webhook'] },
  });
}

describe.each(dialects)('the outbox dispatcher on %s', (dialect) => {
  const h = useHarness();

  it('turns events committed while no dispatcher ran into jobs after a restart, once, in order per aggregate', async () => {
    const db = await h.database(dialect);
    const before = await jobsApp(h, db.url, { modules: [ordersModule([])] });
    for (const step of [1, 2, 3]) {
      await before.transaction(async (tx) => {
        await tx.emit({ type: 'order.changed', aggregate: { type: 'order', id: 'A' }, payload: { step } });
        await tx.emit({ type: 'order.changed', aggregate: { type: 'order', id: 'B' }, payload: { step } });
      });
    }
    await before.transaction((tx) => tx.emit({ type: 'order.noticed', payload: {} })); // no subscriber: dispatched, no job
    await expect(before.transaction(async (tx) => {
      await tx.emit({ type: 'order.changed', aggregate: { type: 'order', id: 'A' }, payload: { step: 99 } });
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    await before.close();

    // A new process: its worker dispatches what was committed.
    const log: string[] = [];
    const after = await jobsApp(h, db.url, { modules: [ordersModule(log, { slow: true })] });
    const worker = await startWorker(h, after, { concurrency: 8 });
    await worker.drain();
    expect(log.filter((l) => l.startsWith('mail:A'))).toEqual(['mail:A:1', 'mail:A:2', 'mail:A:3']);
    expect(log.filter((l) => l.startsWith('hook:A'))).toEqual(['hook:A:1', 'hook:A:2', 'hook:A:3']);
    expect(log.filter((l) => l.startsWith('mail:B'))).toEqual(['mail:B:1', 'mail:B:2', 'mail:B:3']);
    expect(log).toHaveLength(12);
    const undispatched = await after.db.selectFrom('plinth_outbox').select('id').where('dispatched_at', 'is', null).execute();
    expect(undispatched).toEqual([]);
    await worker.stop();

    // Another restart: nothing is dispatched twice.
    const again = await jobsApp(h, db.url, { modules: [ordersModule(log)] });
    const second = await startWorker(h, again);
    await second.drain();
    await sleep(100);
    expect(log).toHaveLength(12);
    expect((await again.jobs.list({ limit: 100 })).data).toHaveLength(12);
  });

  it('dispatches events emitted while it runs, keeping each aggregate in order under concurrency', async () => {
    const log: string[] = [];
    const db = await h.database(dialect);
    const plinth = await jobsApp(h, db.url, { modules: [ordersModule(log, { slow: true })] });
    const worker = await startWorker(h, plinth, { concurrency: 10 });
    for (const step of [1, 2, 3, 4, 5]) {
      await Promise.all(
        ['A', 'B', 'C'].map((id) => plinth.transaction((tx) => tx.emit({ type: 'order.changed', aggregate: { type: 'order', id }, payload: { step } }))),
      );
    }
    await waitFor(() => log.length === 30, 'all 30 jobs');
    await worker.drain();
    for (const name of ['mail', 'hook']) {
      for (const id of ['A', 'B', 'C']) {
        expect(log.filter((l) => l.startsWith(`${name}:${id}:`))).toEqual([1, 2, 3, 4, 5].map((s) => `${name}:${id}:${s}`));
      }
    }
  });
});

describe('two dispatchers on postgres', () => {
  const h = useHarness();

  it('never turn one event into two jobs, and keep aggregates in order', async () => {
    const log: string[] = [];
    const db = await h.database('postgres');
    const a = await jobsApp(h, db.url, { modules: [ordersModule(log)] });
    const b = await jobsApp(h, db.url, { modules: [ordersModule(log)] });
    // Events first, workers after: both dispatchers race for the same backlog.
    for (let step = 1; step <= 40; step++) {
      await a.transaction((tx) => tx.emit({ type: 'order.changed', aggregate: { type: 'order', id: step % 2 ? 'odd' : 'even' }, payload: { step } }));
    }
    const workers = await Promise.all([startWorker(h, a, { concurrency: 4 }), startWorker(h, b, { concurrency: 4 })]);
    await waitFor(() => log.length >= 80, '80 jobs');
    await Promise.all(workers.map((w) => w.drain()));
    expect(log).toHaveLength(80);
    expect(new Set(log).size).toBe(80);
    for (const name of ['mail', 'hook']) {
      const odd = log.filter((l) => l.startsWith(`${name}:odd:`)).map((l) => Number(l.split(':')[2]));
      expect(odd).toEqual([...odd].sort((x, y) => x - y));
    }
  });
});
