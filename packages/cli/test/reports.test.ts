/**
 * Analytics on the seeded demo shop (`plinth seed --demo`): the rollups a
 * worker computes from the outbox equal the same numbers computed with SQL
 * from the transactional tables; `plinth reports rebuild` equals them too;
 * `export` and `show` print them.
 */
import { type AnalyticsService, createPlinth, createWorker, type Plinth } from '@plinth/core';
import { createTestDatabase, dialects, type TestDatabase } from '@plinth/core/testing';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonOf, plinthInProcess, tempDir } from './cli.js';

type Row = Record<string, unknown>;

/** `grain bucket metric dim value` for every rollup: what the analytics tables hold. */
async function rollups(app: Plinth): Promise<string[]> {
  const rows = (await app.db.selectFrom('analytics_rollups').selectAll().execute()) as Row[];
  return rows.map((r) => `${r.grain} ${r.bucket} ${r.metric} ${r.dim} ${Number(r.value)}`).sort();
}

/** The same counters, computed with SQL from orders, order items, products, payments, refunds, users and stock. */
async function fromTables(app: Plinth, dialect: string): Promise<string[]> {
  const bucket = (column: string, grain: 'day' | 'hour') =>
    dialect === 'sqlite'
      ? sql.raw(`substr(${column}, 1, ${grain === 'day' ? 10 : 13})`)
      : sql.raw(`to_char(${column} at time zone 'UTC', '${grain === 'day' ? 'YYYY-MM-DD' : 'YYYY-MM-DD"T"HH24'}')`);
  const out: string[] = [];
  for (const grain of ['day', 'hour'] as const) {
    const q = async (metric: string, query: ReturnType<typeof sql>) => {
      const { rows } = (await query.execute(app.db)) as { rows: { b: string; dim: string | null; v: unknown }[] };
      for (const r of rows) if (Number(r.v) !== 0) out.push(`${grain} ${r.b} ${metric} ${r.dim ?? ''} ${Number(r.v)}`);
    };
    const b = (c: string) => bucket(c, grain);
    await q('orders.created', sql`select ${b('created_at')} as b, '' as dim, count(*) as v from orders group by 1`);
    await q('orders.paid', sql`select ${b('paid_at')} as b, '' as dim, count(*) as v from orders where paid_at is not null group by 1`);
    await q('orders.fulfilled', sql`select ${b('fulfilled_at')} as b, '' as dim, count(*) as v from orders where fulfilled_at is not null group by 1`);
    await q('orders.cancelled', sql`select ${b('cancelled_at')} as b, '' as dim, count(*) as v from orders where cancelled_at is not null group by 1`);
    await q('orders.expired', sql`select ${b('updated_at')} as b, '' as dim, count(*) as v from orders where status = 'expired' group by 1`);
    // Each refund is one payment_refunds row; the order's status says whether it refunded everything.
    await q('orders.refunded', sql`select ${b('r.created_at')} as b, '' as dim, count(*) as v from payment_refunds r join orders o on o.id = r.order_id where o.status = 'refunded' group by 1`);
    await q('orders.partially_refunded', sql`select ${b('r.created_at')} as b, '' as dim, count(*) as v from payment_refunds r join orders o on o.id = r.order_id where o.status = 'partially_refunded' group by 1`);
    await q('sales.orders', sql`select ${b('paid_at')} as b, currency as dim, count(*) as v from orders where paid_at is not null group by 1, 2`);
    await q('sales.gross', sql`select ${b('paid_at')} as b, currency as dim, sum(total) as v from orders where paid_at is not null group by 1, 2`);
    await q('sales.refunds', sql`select ${b('created_at')} as b, currency as dim, sum(amount) as v from payment_refunds group by 1, 2`);
    await q('product.units', sql`select ${b('o.paid_at')} as b, i.product_id as dim, sum(i.quantity) as v from order_items i join orders o on o.id = i.order_id where o.paid_at is not null group by 1, 2`);
    await q(
      'product.revenue',
      sql`select ${b('o.paid_at')} as b, o.currency || ':' || i.product_id as dim, sum(i.line_total) as v from order_items i join orders o on o.id = i.order_id where o.paid_at is not null group by 1, 2`,
    );
    await q(
      'category.units',
      sql`select ${b('o.paid_at')} as b, coalesce(p.category_id, '') as dim, sum(i.quantity) as v from order_items i join orders o on o.id = i.order_id join products p on p.id = i.product_id where o.paid_at is not null group by 1, 2`,
    );
    await q('users.signups', sql`select ${b('created_at')} as b, '' as dim, count(*) as v from users group by 1`);
    await q('payments.succeeded', sql`select ${b('succeeded_at')} as b, '' as dim, count(*) as v from payment_intents where status = 'succeeded' group by 1`);
    await q('payments.failed', sql`select ${b('updated_at')} as b, '' as dim, count(*) as v from payment_intents where status = 'failed' group by 1`);
  }
  return out.sort();
}

describe.each(dialects)('plinth reports on the demo shop (%s)', (dialect) => {
  let db: TestDatabase;
  let dir: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    db = await createTestDatabase(dialect);
    dir = tempDir();
  });
  afterEach(async () => {
    await db.drop();
    dir.remove();
  });
  const run = (args: string[]) => plinthInProcess([...args, '--database-url', db.url], { cwd: dir.path, timeoutMs: 120_000 });

  it('every rollup equals SQL over the tables; rebuild equals the incremental result; export and show print them', { timeout: 300_000 }, async () => {
    const seeded = await run(['seed', '--demo', '--json']);
    expect(seeded.code, seeded.stderr).toBe(0);
    const report = jsonOf(seeded);

    const app = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent' });
    try {
      await app.start();
      const worker = createWorker(app, { concurrency: 4 });
      await worker.start();
      await worker.drain({ timeoutMs: 120_000 });
      await worker.stop();

      const incremental = await rollups(app);
      const expected = await fromTables(app, dialect);
      expect(expected.length).toBeGreaterThan(200); // every metric, at both grains
      expect(incremental).toEqual(expected);
      expect(incremental.filter((r) => r.startsWith('day ') && r.includes(' orders.created '))).toEqual([expect.stringMatching(new RegExp(` ${report.counts.orders}$`))]);

      // Active users: whoever signed up, placed or paid an order that day (SQL over users and orders).
      const active = (await app.db.selectFrom('analytics_active_users').select(['day', 'user_id']).execute()) as { day: string; user_id: string }[];
      const users = (await app.db.selectFrom('users').select(['id', 'created_at']).execute()) as { id: string; created_at: string }[];
      const buyers = (await app.db.selectFrom('orders').select(['user_id', 'created_at', 'paid_at']).execute()) as { user_id: string; created_at: string; paid_at: string | null }[];
      const day = (t: string) => new Date(t).toISOString().slice(0, 10);
      const truth = new Set([...users.map((u) => `${day(u.created_at)} ${u.id}`), ...buyers.flatMap((o) => [`${day(o.created_at)} ${o.user_id}`, ...(o.paid_at ? [`${day(o.paid_at)} ${o.user_id}`] : [])])]);
      expect(active.map((a) => `${a.day} ${a.user_id}`).sort()).toEqual([...truth].sort());

      // The reports API's figures are these numbers.
      const analytics = app.service<AnalyticsService>('analytics');
      const today = day(new Date().toISOString());
      const staff = { actor: { kind: 'system' as const, name: 'test' } };
      const sales = await analytics.sales({ from: today, to: today }, staff);
      const gross = incremental.filter((r) => r.startsWith(`day ${today} sales.gross EUR`)).map((r) => Number(r.split(' ').at(-1)));
      expect(sales.totals.find((t) => t.currency === 'EUR')?.gross).toBe(gross[0]);
      const low = (await app.db
        .selectFrom('inventory_items')
        .select('sku')
        .where(sql<boolean>`on_hand - reserved < low_stock_threshold`)
        .execute()) as { sku: string }[];
      const lowReport = await analytics.lowStock({ from: today, to: today, limit: 100 }, staff);
      expect(lowReport.data.map((r) => r.sku).sort()).toEqual(low.map((r) => r.sku).sort());

      // The CLI rebuild: same numbers.
      const rebuilt = await run(['reports', 'rebuild', '--json']);
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      const result = JSON.parse(rebuilt.stdout);
      expect(result).toMatchObject({ timezone: 'UTC', events: expect.any(Number), eventsPerSecond: expect.any(Number) });
      expect(result.applied).toBe(result.events);
      expect(await rollups(app)).toEqual(incremental);

      // Export: the sales rows, as JSON Lines.
      const exported = await run(['reports', 'export', 'sales', '--format', 'jsonl', '--from', today, '--to', today]);
      expect(exported.code, exported.stderr).toBe(0);
      const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => `day ${l.bucket} ${l.metric} ${l.dimension} ${l.value}`).sort()).toEqual(incremental.filter((r) => r.startsWith(`day ${today} sales.`)));
      const csv = await run(['reports', 'export', 'products', '--from', today, '--to', today, '--out', `${dir.path}/products.csv`]);
      expect(csv.code, csv.stderr).toBe(0);
      const bad = await run(['reports', 'export', 'nope']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('Unknown report "nope"');
      const badRange = await run(['reports', 'export', 'sales', '--from', '2026-03-02', '--to', '2026-03-01']);
      expect(badRange.code).toBe(1);
      expect(badRange.stderr).toContain('is after');

      // Show: charts of net revenue and orders, and the top products.
      const shown = await run(['reports', 'show', '--from', today, '--to', today]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain('Net revenue (EUR)');
      expect(shown.stdout).toContain('Orders placed');
      expect(shown.stdout).toMatch(new RegExp(`${today} │█+`));
      expect(shown.stdout).toContain('Top products by units:');
      const json = JSON.parse((await run(['reports', 'show', '--from', today, '--to', today, '--json'])).stdout);
      expect(json.revenue).toEqual([{ bucket: today, gross: sales.totals[0]!.gross, refunds: sales.totals[0]!.refunds, net: sales.totals[0]!.net, orders: sales.totals[0]!.orders }]);
    } finally {
      await app.close();
    }
  });
});
