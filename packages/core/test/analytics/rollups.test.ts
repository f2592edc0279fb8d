/**
 * Analytics rollups fed by the outbox: what a shop's events add up to, counted
 * once per event whatever the order or repetition, a rebuild equal to the
 * incremental result, local days, and the reports API.
 */
import { describe, expect, it } from 'vitest';
import { type Clock, createPlinth } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { problem } from '../commerce/support.js';
import { useHarness } from '../support/harness.js';
import { expectOk, openShop, outboxEvents } from './support.js';

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe.each(dialects)('analytics on %s', (dialect) => {
  const h = useHarness();

  it('counts orders, revenue, refunds, units, sign-ups, payments and low stock, and answers them on /v1/reports', async () => {
    let declined = '';
    const shop = await openShop(h, dialect, { decline: (orderId) => orderId === declined });
    const mugs = await shop.category('Mugs');
    const mug = await shop.product({ categoryId: mugs, price: 1250, stock: 10, threshold: 5 });
    const pen = await shop.product({ price: 300 });
    const ann = await shop.customer();
    const bob = await shop.customer();

    const first = await shop.order(ann, [{ sku: mug.sku, quantity: 2 }, { sku: pen.sku, quantity: 1 }]); // 2800
    await shop.pay(first.id, ann);
    const second = await shop.order(bob, [{ sku: mug.sku, quantity: 4 }]); // 5000: available 10-6=4 < 5 → low stock
    await shop.pay(second.id, bob);
    await shop.refund(second.id, 1000);
    const third = await shop.order(ann, [{ sku: pen.sku, quantity: 3 }]);
    declined = third.id;
    await shop.pay(third.id, ann); // declined: stays pending
    const fourth = await shop.order(bob, [{ sku: pen.sku, quantity: 1 }]);
    await shop.app.plinth.service<any>('orders').cancelOrder(fourth.id, undefined, bob);
    await shop.settle();

    const day = utcDay(Date.now());
    const q = `from=${day}&to=${day}`;
    const sales = await shop.app.call('GET', `/v1/reports/sales?${q}`, { token: shop.staff.token });
    expectOk(sales);
    expect(sales.body.timezone).toBe('UTC');
    expect(sales.body.totals).toEqual([{ currency: 'EUR', orders: 2, gross: 7800, refunds: 1000, net: 6800, averageOrderValue: 3900 }]);
    expect(sales.body.series).toEqual([{ bucket: day, currency: 'EUR', orders: 2, gross: 7800, refunds: 1000, net: 6800, averageOrderValue: 3900 }]);

    const orders = await shop.app.call('GET', `/v1/reports/orders?${q}`, { token: shop.staff.token });
    expectOk(orders);
    expect(orders.body.totals).toEqual({ created: 4, paid: 2, fulfilled: 0, cancelled: 1, expired: 0, refunded: 0, partiallyRefunded: 1 });

    const products = await shop.app.call('GET', `/v1/reports/products?${q}`, { token: shop.staff.token });
    expectOk(products);
    expect(products.body.data).toEqual([
      { productId: mug.id, name: expect.any(String), units: 6, revenue: [{ amount: 7500, currency: 'EUR' }] },
      { productId: pen.id, name: expect.any(String), units: 1, revenue: [{ amount: 300, currency: 'EUR' }] },
    ]);
    const categories = await shop.app.call('GET', `/v1/reports/categories?${q}`, { token: shop.staff.token });
    expect(categories.body.data).toEqual([{ categoryId: mugs, name: 'Mugs', units: 6 }, { categoryId: null, name: null, units: 1 }]);

    const users = await shop.app.call('GET', `/v1/reports/users?${q}`, { token: shop.staff.token });
    expectOk(users);
    // staff, ann and bob signed up; ann and bob ordered (active), and everyone who signed up was active that day.
    expect(users.body.totals).toEqual({ signups: 3, dau: 3, wau: 3, mau: 3 });
    const weekly = await shop.app.call('GET', `/v1/reports/users?from=${day}&to=${day}&groupBy=week`, { token: shop.staff.token });
    expect(weekly.body.series).toHaveLength(1);
    expect(weekly.body.series[0]).toMatchObject({ signups: 3, activeUsers: 3 });
    expect(new Date(`${weekly.body.series[0].bucket}T00:00:00Z`).getUTCDay()).toBe(1); // weeks are named by their Monday
    const hourly = await shop.app.call('GET', `/v1/reports/users?${q}&groupBy=hour`, { token: shop.staff.token });
    expect(hourly.body.series).toHaveLength(24);
    expect(hourly.body.series.reduce((a: number, s: any) => a + s.signups, 0)).toBe(3);
    expect(hourly.body.series.every((s: any) => s.activeUsers === null)).toBe(true);

    const payments = await shop.app.call('GET', `/v1/reports/payments?${q}`, { token: shop.staff.token });
    expect(payments.body.totals).toEqual({ succeeded: 2, failed: 1, successRate: 0.6667 });
    const low = await shop.app.call('GET', `/v1/reports/low-stock?${q}`, { token: shop.staff.token });
    expect(low.body.data).toEqual([{ sku: mug.sku, crossings: 1, lastDay: day }]);

    const monthly = await shop.app.call('GET', `/v1/reports/sales?from=${day.slice(0, 7)}-01&to=${day}&groupBy=month`, { token: shop.staff.token });
    expect(monthly.body.series).toEqual([{ bucket: day.slice(0, 7), currency: 'EUR', orders: 2, gross: 7800, refunds: 1000, net: 6800, averageOrderValue: 3900 }]);

    const fresh = await shop.app.call('GET', '/v1/reports/freshness', { token: shop.staff.token });
    expectOk(fresh);
    expect(fresh.body).toMatchObject({ timezone: 'UTC', configuredTimezone: 'UTC', rebuildRequired: false, lagSeconds: 0 });
    expect(fresh.body.appliedEvents).toBe((await outboxEvents(shop.app)).length);
    const metrics = await fetch(`${shop.app.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^plinth_analytics_freshness_lag_seconds 0$/m);
    expect(metrics).toMatch(/^plinth_analytics_lag_seconds_count \d+$/m);
  });

  it('counts an event applied twice, or events out of order, once', async () => {
    const shop = await openShop(h, dialect);
    const ann = await shop.customer();
    const cup = await shop.product({ price: 700 });
    for (let i = 0; i < 3; i++) {
      const order = await shop.order(ann, [{ sku: cup.sku, quantity: i + 1 }]);
      await shop.pay(order.id, ann);
      if (i === 1) await shop.refund(order.id, 100);
    }
    await shop.settle();
    const incremental = await shop.rollups();
    const events = await outboxEvents(shop.app);
    expect(events.length).toBeGreaterThan(8);

    // Again, newest first: nothing changes.
    const again = await shop.analytics.apply([...events].reverse());
    expect(again).toEqual({ applied: 0, duplicates: events.length });
    expect(await shop.rollups()).toEqual(incremental);

    // Another shop's empty rollups fed the same events shuffled, in overlapping batches, some twice.
    const other = await openShop(h, dialect);
    const before = await other.rollups();
    const shuffled = [...events].sort((a, b) => (a.id.slice(-6) < b.id.slice(-6) ? -1 : 1));
    const half = Math.ceil(shuffled.length / 2);
    const a = await other.analytics.apply(shuffled.slice(0, half + 2));
    const b = await other.analytics.apply([...shuffled.slice(half - 2)].reverse());
    const c = await other.analytics.apply([events[0]!, events[0]!]);
    expect(a.applied + b.applied + c.applied).toBe(events.length);
    expect(c).toEqual({ applied: 0, duplicates: 2 });
    expect(before).toEqual([]); // its own events were never applied: only the copied ones count
    expect(await other.rollups()).toEqual(incremental);

    // A concurrent double apply of one batch: one wins, the other is all duplicates.
    const third = await openShop(h, dialect);
    const [x, y] = await Promise.all([third.analytics.apply(events), third.analytics.apply(events)]);
    expect([x.applied, y.applied].sort((p, q) => p - q)).toEqual([0, events.length]);
    expect(await third.rollups()).toEqual(incremental);

    // An invalid event is refused and changes nothing.
    await expect(shop.analytics.apply([{ id: 'x', type: 'order.paid', payload: { id: 1 }, createdAt: new Date().toISOString() }])).rejects.toMatchObject({ code: 'analytics.invalid_event' });
    await expect(shop.analytics.apply([{ id: 'y', type: 'user.deleted', payload: { userId: 'u' }, createdAt: new Date().toISOString() }])).rejects.toMatchObject({ code: 'analytics.invalid_event' });
    expect(await shop.rollups()).toEqual(incremental);
  });

  it('a rebuild from the event history equals the incremental result', async () => {
    const shop = await openShop(h, dialect);
    const eur = await shop.product({ price: 990, stock: 50 });
    const usd = await shop.product({ price: 1500, currency: 'USD', stock: 50 });
    for (let i = 0; i < 4; i++) {
      const who = await shop.customer();
      const order = await shop.order(who, [{ sku: i % 2 ? usd.sku : eur.sku, quantity: 1 + i }]);
      await shop.pay(order.id, who);
      if (i === 3) await shop.refund(order.id, 1500, 'USD');
    }
    await shop.settle();
    const incremental = await shop.rollups();
    const active = await shop.activeUsers();
    expect(incremental.some((r) => r.includes('sales.gross USD'))).toBe(true);

    const progress: { events: number; total: number }[] = [];
    const result = await shop.analytics.rebuild({ batchSize: 7, onProgress: (p) => progress.push(p) });
    const events = (await outboxEvents(shop.app)).length;
    expect(result).toMatchObject({ events, applied: events, timezone: 'UTC' });
    expect(progress.at(-1)).toEqual({ events, total: events });
    expect(progress.length).toBeGreaterThan(2);
    expect(await shop.rollups()).toEqual(incremental);
    expect(await shop.activeUsers()).toEqual(active);

    // Pending rollup jobs after a rebuild find their events counted: still equal.
    const who = await shop.customer();
    const order = await shop.order(who, [{ sku: eur.sku, quantity: 1 }]);
    await shop.pay(order.id, who);
    await shop.analytics.rebuild();
    const rebuilt = await shop.rollups();
    await shop.settle();
    expect(await shop.rollups()).toEqual(rebuilt);
  });

  it('a refund after local midnight lands on the next local day; UTC is the default and a rebuild re-buckets', async () => {
    // A clock we can move forward, past the next Tokyo midnight (15:00 UTC), for the refund.
    let offset = 0;
    const clock: Clock = { now: () => Date.now() + offset };
    const shop = await openShop(h, dialect, { clock, analytics: { timezone: 'Asia/Tokyo' } });
    const ann = await shop.customer();
    const cup = await shop.product({ price: 2000 });
    const order = await shop.order(ann, [{ sku: cup.sku, quantity: 1 }]);
    await shop.pay(order.id, ann);
    const paidAt = clock.now();
    const TOKYO = 9 * 3_600_000; // no daylight saving in Tokyo
    const nextTokyoMidnight = Math.floor((paidAt + TOKYO) / 86_400_000 + 1) * 86_400_000 - TOKYO;
    offset = nextTokyoMidnight + 5 * 60_000 - Date.now();
    await shop.refund(order.id, 500);
    const refundAt = clock.now();
    await shop.settle();

    const tokyoDay = (ms: number) => utcDay(ms + TOKYO);
    expect(tokyoDay(refundAt)).not.toBe(tokyoDay(paidAt));
    const tokyo = await shop.analytics.sales({ from: tokyoDay(paidAt), to: tokyoDay(refundAt) }, shop.staff);
    expect(tokyo.timezone).toBe('Asia/Tokyo');
    expect(tokyo.series.map((s) => [s.bucket, s.gross, s.refunds])).toEqual([
      [tokyoDay(paidAt), 2000, 0],
      [tokyoDay(refundAt), 0, 500],
    ]);
    const hours = await shop.analytics.sales({ from: tokyoDay(refundAt), to: tokyoDay(refundAt), groupBy: 'hour' }, shop.staff);
    expect(hours.series.filter((s) => s.refunds > 0).map((s) => s.bucket)).toEqual([`${tokyoDay(refundAt)}T00`]);

    // The same database read in UTC (the default): the stored rollups stay in Tokyo time until a rebuild.
    const utc = createPlinth({ databaseUrl: shop.app.db.url, processEnv: false, logLevel: 'silent', clock });
    h.defer(() => utc.close());
    await utc.start();
    const analytics = utc.service<any>('analytics');
    expect(await analytics.freshness()).toMatchObject({ timezone: 'Asia/Tokyo', configuredTimezone: 'UTC', rebuildRequired: true });
    await analytics.rebuild();
    expect(await analytics.freshness()).toMatchObject({ timezone: 'UTC', rebuildRequired: false });
    const days = [utcDay(paidAt), utcDay(refundAt)];
    const report = await analytics.sales({ from: days[0], to: days[1] }, shop.staff);
    const expected = new Map<string, [number, number]>();
    expected.set(days[0]!, [2000, 0]);
    const last = expected.get(days[1]!) ?? [0, 0];
    expected.set(days[1]!, [last[0], last[1] + 500]);
    expect(report.series.map((s: any) => [s.bucket, s.gross, s.refunds])).toEqual([...expected].map(([d, [g, r]]) => [d, g, r]));
  });

  it('reports are for staff, check their ranges, and export CSV and JSON Lines', async () => {
    const shop = await openShop(h, dialect);
    const ann = await shop.customer();
    const cup = await shop.product({ price: 1234 });
    const order = await shop.order(ann, [{ sku: cup.sku, quantity: 2 }]);
    await shop.pay(order.id, ann);
    await shop.settle();
    const day = utcDay(Date.now());

    problem(await shop.app.call('GET', '/v1/reports/sales'), 401, 'auth.unauthenticated');
    problem(await shop.app.call('GET', '/v1/reports/sales', { token: ann.token }), 403, 'auth.forbidden');
    problem(await shop.app.call('GET', `/v1/reports/sales/export`, { token: ann.token }), 403, 'auth.forbidden');
    problem(await shop.app.call('GET', '/v1/reports/sales?from=2026-02-30', { token: shop.staff.token }), 422, 'validation.failed');
    problem(await shop.app.call('GET', '/v1/reports/sales?groupBy=year', { token: shop.staff.token }), 422, 'validation.failed');
    problem(await shop.app.call('GET', '/v1/reports/sales?currency=eur', { token: shop.staff.token }), 422, 'validation.failed');
    problem(await shop.app.call('GET', '/v1/reports/sales?from=2026-03-02&to=2026-03-01', { token: shop.staff.token }), 422, 'reports.invalid_range');
    problem(await shop.app.call('GET', '/v1/reports/sales?from=2026-01-01&to=2026-03-01&groupBy=hour', { token: shop.staff.token }), 422, 'reports.range_too_large');
    problem(await shop.app.call('GET', '/v1/reports/sales?from=2000-01-01&to=2026-03-01', { token: shop.staff.token }), 422, 'reports.range_too_large');
    problem(await shop.app.call('GET', '/v1/reports/nope', { token: shop.staff.token }), 404, 'route.not_found');
    problem(await shop.app.call('GET', '/v1/reports/nope/export', { token: shop.staff.token }), 422, 'validation.failed');
    problem(await shop.app.call('GET', '/v1/reports/sales/export?format=xml', { token: shop.staff.token }), 422, 'validation.failed');

    // Defaults: the 30 days ending today, by day, every currency seen.
    const sales = await shop.app.call('GET', '/v1/reports/sales', { token: shop.staff.token });
    expectOk(sales);
    expect(sales.body.series).toHaveLength(30);
    expect(sales.body.series.at(-1)).toEqual({ bucket: day, currency: 'EUR', orders: 1, gross: 2468, refunds: 0, net: 2468, averageOrderValue: 2468 });
    const usd = await shop.app.call('GET', '/v1/reports/sales?currency=USD', { token: shop.staff.token });
    expect(usd.body.totals).toEqual([{ currency: 'USD', orders: 0, gross: 0, refunds: 0, net: 0, averageOrderValue: null }]);

    const csv = await fetch(`${shop.app.url}/v1/reports/sales/export?from=${day}&to=${day}`, { headers: { authorization: `Bearer ${shop.staff.token}` } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="sales-${day}-${day}.csv"`);
    expect(await csv.text()).toBe(['bucket,metric,dimension,value', `${day},sales.gross,EUR,2468`, `${day},sales.orders,EUR,1`, ''].join('\r\n'));
    const jsonl = await fetch(`${shop.app.url}/v1/reports/orders/export?format=jsonl&grain=hour&from=${day}&to=${day}`, { headers: { authorization: `Bearer ${shop.staff.token}` } });
    expect(jsonl.headers.get('content-type')).toBe('application/jsonl; charset=utf-8');
    const lines = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.metric, l.value])).toEqual([['orders.created', 1], ['orders.paid', 1]]);
    expect(lines[0].bucket).toMatch(new RegExp(`^${day}T\\d\\d$`));
  });
});
