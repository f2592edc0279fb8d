/**
 * Several processes on one database: an event committed through instance A reaches a
 * subscriber on instance B. On PostgreSQL, B is woken by LISTEN/NOTIFY (its poll is set to a
 * minute, so only the notification can deliver in time); on SQLite, B sees another process's
 * writes by polling.
 */
import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/index.js';
import { commerceWorld } from '../commerce/support.js';
import { startApp } from '../support/app.js';
import { useHarness } from '../support/harness.js';
import { openSse } from './sse.js';

describe('realtime across server instances', () => {
  const h = useHarness();

  for (const [dialect, pollIntervalMs, within] of [
    ['postgres', 60_000, 8000],
    ['sqlite', 200, 8000],
  ] as const) {
    it(`${dialect}: an order placed through instance A reaches a subscriber on instance B`, async () => {
      const a = await commerceWorld(h, dialect, { jobs: { pollIntervalMs: 100 }, realtime: { pollIntervalMs: 100 } });
      const worker = createWorker(a.app.plinth, { concurrency: 4 });
      await worker.start();
      h.defer(() => worker.stop({ timeoutMs: 2000 }));
      await a.product({ name: 'Mug', skus: [{ sku: 'MUG', amount: 500, stock: 10 }] });

      // B: another server on the same database, no worker, slow polling.
      const b = await startApp(h, dialect, { db: a.app.db, realtime: { pollIntervalMs } });
      const ann = await openSse(`${b.url}/v1/events?topics=orders`, { authorization: `Bearer ${a.ann.token}` });
      const staff = await openSse(`${b.url}/v1/events?topics=orders`, { authorization: `Bearer ${a.staff.token}` });
      const bob = await openSse(`${b.url}/v1/events?topics=orders`, { authorization: `Bearer ${a.bob.token}` });
      h.defer(() => [ann, staff, bob].forEach((c) => c.close()));
      expect([ann.status, staff.status, bob.status]).toEqual([200, 200, 200]);

      const placed = await a.call('POST', '/v1/orders', a.ann, { items: [{ sku: 'MUG', quantity: 1 }] });
      expect(placed.status, JSON.stringify(placed.body)).toBe(201);
      const started = Date.now();
      const got = await ann.waitFor((m) => m.event === 'order.created' && m.data.aggregate?.id === placed.body.id, 'the order on instance B', within);
      expect(Date.now() - started).toBeLessThan(within);
      expect(got.data.payload.userId).toBe(a.ann.id);
      await staff.waitFor((m) => m.data.aggregate?.id === placed.body.id, 'the order for staff on B', within);

      const bobs = await a.call('POST', '/v1/orders', a.bob, { items: [{ sku: 'MUG', quantity: 1 }] });
      await bob.waitFor((m) => m.data.aggregate?.id === bobs.body.id, "Bob's order on B", within);
      expect(bob.events.map((m) => m.data.aggregate.id)).toEqual([bobs.body.id]);
    });
  }
});
