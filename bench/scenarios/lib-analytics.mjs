/**
 * Analytics scenarios (no HTTP load): the commerce app of `lib-commerce.mjs`
 * with few products, orders placed and paid through the orders service.
 *
 * - rebuild: the events of `BENCH_ANALYTICS_ORDERS` (default 5000) placed and
 *   paid orders written to the outbox (not measured), then `analytics.rebuild()`
 *   is timed (after one warm-up rebuild): events/s stand for req/s.
 * - lag: orders placed by 10 concurrent callers for `BENCH_DURATION` seconds
 *   while a worker (concurrency 10) in the same process dispatches the outbox
 *   and applies the rollups; lag = rollup commit − event time, per event,
 *   from `analytics_applied_events`; orders/s stand for req/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorker } from '@plinth/core';
import { commerceApp } from './lib-commerce.mjs';

const ORDERS = Number(process.env.BENCH_ANALYTICS_ORDERS ?? 5000);
const PLACERS = 10;

function pick(skus) {
  const picked = new Set();
  while (picked.size < 3) picked.add(skus[Math.floor(Math.random() * skus.length)]);
  return [...picked].map((sku) => ({ sku, quantity: 1 }));
}

async function setUp(dialect) {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-bench-analytics-'));
  const app = await commerceApp(dir, dialect, { products: 200 });
  const buyer = await app.plinth.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
  const caller = { actor: { kind: 'user', userId: buyer.id, sessionId: 'bench', roles: ['customer'] } };
  const orders = app.plinth.service('orders');
  const placeAndPay = async (n) => {
    const order = await orders.createOrder({ items: pick(app.skus) }, caller);
    await orders.markPaid(order.id, { paymentId: `bench-${n}`, amount: order.total });
  };
  return {
    app,
    placeAndPay,
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);

export async function measureRebuild({ dialect }) {
  const { app, close } = await setUp(dialect);
  try {
    // The history, written straight into the outbox (1000 events per transaction, not measured): what placing
    // and paying ORDERS orders emits — order.created, order.paid with 3 items, payment.succeeded — and a sign-up per 10 orders.
    const plinth = app.plinth;
    const buyer = await plinth.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
    const products = await plinth.db.selectFrom('product_skus').select(['sku', 'product_id']).execute();
    const events = [];
    for (let n = 0; n < ORDERS; n++) {
      const id = `bench-order-${n}`;
      const items = Array.from({ length: 3 }, (_, i) => products[(n * 7 + i * 13) % products.length]).map((p, i) => ({
        sku: p.sku, productId: p.product_id, categoryId: app.categories[(n + i) % app.categories.length], quantity: 1 + (i % 2), lineTotal: 1000 * (1 + (i % 2)),
      }));
      const total = { amount: items.reduce((a, i) => a + i.lineTotal, 0), currency: 'EUR' };
      const aggregate = { type: 'order', id };
      events.push({ type: 'order.created', aggregate, payload: { id, userId: buyer.id, total, items: items.map((i) => ({ sku: i.sku, quantity: i.quantity })), expiresAt: new Date().toISOString() } });
      events.push({ type: 'order.paid', aggregate, payload: { id, userId: buyer.id, paymentId: `pay-${n}`, total, items } });
      events.push({ type: 'payment.succeeded', aggregate: { type: 'payment', id: `pay-${n}` }, payload: { id: `pay-${n}`, orderId: id, provider: 'fake', amount: total, orderPaid: true } });
      if (n % 10 === 0) events.push({ type: 'user.signed_up', aggregate: { type: 'user', id: buyer.id }, payload: { userId: buyer.id } });
    }
    for (let i = 0; i < events.length; i += 1000) {
      await plinth.transaction(async (tx) => {
        for (const event of events.slice(i, i + 1000)) await tx.emit(event);
      });
    }
    const analytics = app.plinth.service('analytics');
    await analytics.rebuild(); // warm-up (JIT, statement caches)
    const cpuBefore = process.cpuUsage();
    const result = await analytics.rebuild();
    const cpu = process.cpuUsage(cpuBefore);
    return { opsPerSec: result.events / result.seconds, ops: result.events, seconds: result.seconds, cpuMs: (cpu.user + cpu.system) / 1000, extra: { events: result.events } };
  } finally {
    await close();
  }
}

export async function measureLag({ dialect, duration }) {
  const { app, placeAndPay, close } = await setUp(dialect);
  const plinth = app.plinth;
  const worker = createWorker(plinth, { concurrency: 10 });
  try {
    await worker.start();
    const started = new Date().toISOString();
    const t0 = performance.now();
    const cpuBefore = process.cpuUsage();
    let placed = 0;
    const until = t0 + duration * 1000;
    const placer = async () => {
      while (performance.now() < until) await placeAndPay(placed++);
    };
    await Promise.all(Array.from({ length: PLACERS }, placer));
    const seconds = (performance.now() - t0) / 1000;
    const drainStart = performance.now();
    await worker.drain({ timeoutMs: 600_000 });
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const rows = await plinth.db.selectFrom('analytics_applied_events').select(['event_at', 'applied_at']).where('event_at', '>=', started).execute();
    const lags = rows.map((r) => (Date.parse(r.applied_at) - Date.parse(r.event_at)) / 1000).sort((a, b) => a - b);
    const round = (v) => (v === null ? null : Math.round(v * 1000) / 1000);
    return {
      opsPerSec: placed / seconds,
      ops: placed,
      seconds,
      cpuMs: (cpu.user + cpu.system) / 1000,
      extra: { events: lags.length, lagP50s: round(percentile(lags, 50)), lagP99s: round(percentile(lags, 99)), lagMaxS: round(lags.at(-1) ?? null), drainAfterStopS: round(drainSeconds) },
    };
  } finally {
    await worker.stop();
    await close();
  }
}
