import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type {
  categoriesReportSchema, lowStockReportSchema, ordersReportSchema, paymentsReportSchema, productsReportSchema, reportGroupings, salesReportSchema,
  usersReportSchema,
} from '../../contract/reports.js';
import { addDays, dayNumber, type Grain, type GroupBy, groupKey, groupKeys } from './buckets.js';
import { METRICS } from './facts.js';
import { ACTIVE_USERS_TABLE, ROLLUPS_TABLE } from './migrations.js';

/** A resolved report range: inclusive local days, a grouping, the stored time zone. */
export interface ReportRange {
  from: string;
  to: string;
  groupBy: (typeof reportGroupings)[number];
  timezone: string;
}

export interface RollupRow {
  bucket: string;
  metric: string;
  dim: string;
  value: number;
}

/** Bucket bounds of a range at a grain (hour buckets are `YYYY-MM-DDTHH`, so they sort inside their day). */
export function bucketBounds(from: string, to: string, grain: Grain): [string, string] {
  return grain === 'day' ? [from, to] : [`${from}T00`, `${to}T23`];
}

/** Sums of the given metrics per bucket and dimension over a range. */
export async function readRollups(db: Kysely<any>, grain: Grain, metrics: readonly string[], from: string, to: string): Promise<RollupRow[]> {
  const [lo, hi] = bucketBounds(from, to, grain);
  const rows = (await db
    .selectFrom(ROLLUPS_TABLE)
    .select(['bucket', 'metric', 'dim', 'value'])
    .where('grain', '=', grain)
    .where('metric', 'in', metrics)
    .where('bucket', '>=', lo)
    .where('bucket', '<=', hi)
    .execute()) as { bucket: string; metric: string; dim: string; value: unknown }[];
  return rows.map((r) => ({ bucket: r.bucket, metric: r.metric, dim: r.dim, value: Number(r.value) }));
}

/** Totals per metric and dimension over a range (day rollups). */
async function totalsByDim(db: Kysely<any>, metric: string, from: string, to: string): Promise<Map<string, { value: number; lastDay: string }>> {
  const rows = (await db
    .selectFrom(ROLLUPS_TABLE)
    .select(['dim', (eb) => eb.fn.sum<number>('value').as('value'), (eb) => eb.fn.max<string>('bucket').as('last')])
    .where('grain', '=', 'day')
    .where('metric', '=', metric)
    .where('bucket', '>=', from)
    .where('bucket', '<=', to)
    .groupBy('dim')
    .execute()) as { dim: string; value: unknown; last: string }[];
  return new Map(rows.map((r) => [r.dim, { value: Number(r.value), lastDay: r.last }]));
}

const grainOf = (groupBy: GroupBy): Grain => (groupBy === 'hour' ? 'hour' : 'day');

/** Adds rows into `group key → metric → dim → sum`. */
function grouped(rows: readonly RollupRow[], groupBy: GroupBy): Map<string, Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, Map<string, number>>>();
  for (const r of rows) {
    const key = groupKey(r.bucket, groupBy);
    let metrics = out.get(key);
    if (!metrics) out.set(key, (metrics = new Map()));
    let dims = metrics.get(r.metric);
    if (!dims) metrics.set(r.metric, (dims = new Map()));
    dims.set(r.dim, (dims.get(r.dim) ?? 0) + r.value);
  }
  return out;
}

const get = (g: Map<string, Map<string, number>> | undefined, metric: string, dim = ''): number => g?.get(metric)?.get(dim) ?? 0;
const sumDims = (g: Map<string, Map<string, number>> | undefined, metric: string): number => [...(g?.get(metric)?.values() ?? [])].reduce((a, b) => a + b, 0);
const aov = (gross: number, orders: number): number | null => (orders > 0 ? Math.round(gross / orders) : null);

export async function salesReport(db: Kysely<any>, range: ReportRange, currency: string | undefined): Promise<z.output<typeof salesReportSchema>> {
  const rows = await readRollups(db, grainOf(range.groupBy), [METRICS.salesOrders, METRICS.salesGross, METRICS.salesRefunds], range.from, range.to);
  const kept = currency ? rows.filter((r) => r.dim === currency) : rows;
  const currencies = [...new Set([...kept.map((r) => r.dim), ...(currency ? [currency] : [])])].sort();
  const groups = grouped(kept, range.groupBy);
  const figures = (g: Map<string, Map<string, number>> | undefined, cur: string) => {
    const orders = get(g, METRICS.salesOrders, cur);
    const gross = get(g, METRICS.salesGross, cur);
    const refunds = get(g, METRICS.salesRefunds, cur);
    return { currency: cur, orders, gross, refunds, net: gross - refunds, averageOrderValue: aov(gross, orders) };
  };
  const series = groupKeys(range.from, range.to, range.groupBy).flatMap((bucket) => currencies.map((cur) => ({ bucket, ...figures(groups.get(bucket), cur) })));
  const all = grouped(kept.map((r) => ({ ...r, bucket: range.from })), 'day').get(range.from);
  return { ...range, series, totals: currencies.map((cur) => figures(all, cur)) };
}

const ORDER_FIELDS = [
  ['created', METRICS.ordersCreated],
  ['paid', METRICS.ordersPaid],
  ['fulfilled', METRICS.ordersFulfilled],
  ['cancelled', METRICS.ordersCancelled],
  ['expired', METRICS.ordersExpired],
  ['refunded', METRICS.ordersRefunded],
  ['partiallyRefunded', METRICS.ordersPartiallyRefunded],
] as const;
type OrderCounts = Record<(typeof ORDER_FIELDS)[number][0], number>;

export async function ordersReport(db: Kysely<any>, range: ReportRange): Promise<z.output<typeof ordersReportSchema>> {
  const rows = await readRollups(db, grainOf(range.groupBy), ORDER_FIELDS.map(([, m]) => m), range.from, range.to);
  const groups = grouped(rows, range.groupBy);
  const counts = (g: Map<string, Map<string, number>> | undefined) => Object.fromEntries(ORDER_FIELDS.map(([field, metric]) => [field, get(g, metric)])) as OrderCounts;
  const series = groupKeys(range.from, range.to, range.groupBy).map((bucket) => ({ bucket, ...counts(groups.get(bucket)) }));
  const totals = Object.fromEntries(ORDER_FIELDS.map(([field]) => [field, series.reduce((a, s) => a + s[field], 0)])) as OrderCounts;
  return { ...range, series, totals };
}

export async function productsReport(db: Kysely<any>, range: ReportRange, limit: number, currency: string | undefined): Promise<z.output<typeof productsReportSchema>> {
  const units = await totalsByDim(db, METRICS.productUnits, range.from, range.to);
  const top = [...units].sort(([a, x], [b, y]) => y.value - x.value || (a < b ? -1 : 1)).slice(0, limit);
  const ids = top.map(([id]) => id);
  const revenue = await totalsByDim(db, METRICS.productRevenue, range.from, range.to);
  const names = new Map<string, string>();
  if (ids.length) {
    for (const r of (await db.selectFrom('products').select(['id', 'name']).where('id', 'in', ids).execute()) as { id: string; name: string }[]) names.set(r.id, r.name);
  }
  const data = top.map(([productId, { value }]) => {
    const money = [...revenue]
      .filter(([dim]) => dim.endsWith(`:${productId}`) && (!currency || dim.startsWith(`${currency}:`)))
      .map(([dim, r]) => ({ amount: r.value, currency: dim.slice(0, dim.indexOf(':')) }))
      .sort((a, b) => (a.currency < b.currency ? -1 : 1));
    return { productId, name: names.get(productId) ?? null, units: value, revenue: money };
  });
  return { ...range, data };
}

export async function categoriesReport(db: Kysely<any>, range: ReportRange, limit: number): Promise<z.output<typeof categoriesReportSchema>> {
  const units = await totalsByDim(db, METRICS.categoryUnits, range.from, range.to);
  const top = [...units].sort(([a, x], [b, y]) => y.value - x.value || (a < b ? -1 : 1)).slice(0, limit);
  const ids = top.map(([id]) => id).filter((id) => id !== '');
  const names = new Map<string, string>();
  if (ids.length) {
    for (const r of (await db.selectFrom('categories').select(['id', 'name']).where('id', 'in', ids).execute()) as { id: string; name: string }[]) names.set(r.id, r.name);
  }
  return { ...range, data: top.map(([id, { value }]) => ({ categoryId: id || null, name: id ? (names.get(id) ?? null) : null, units: value })) };
}

async function distinctActive(db: Kysely<any>, from: string, to: string): Promise<number> {
  const row = (await db
    .selectFrom(ACTIVE_USERS_TABLE)
    .select((eb) => eb.fn.count('user_id').distinct().as('n'))
    .where('day', '>=', from)
    .where('day', '<=', to)
    .executeTakeFirst()) as { n: unknown } | undefined;
  return Number(row?.n ?? 0);
}

export async function usersReport(db: Kysely<any>, range: ReportRange): Promise<z.output<typeof usersReportSchema>> {
  const rows = await readRollups(db, grainOf(range.groupBy), [METRICS.signups], range.from, range.to);
  const groups = grouped(rows, range.groupBy);
  const keys = groupKeys(range.from, range.to, range.groupBy);
  const active = new Map<string, number>();
  if (range.groupBy === 'day') {
    const perDay = (await db
      .selectFrom(ACTIVE_USERS_TABLE)
      .select(['day', (eb) => eb.fn.countAll().as('n')])
      .where('day', '>=', range.from)
      .where('day', '<=', range.to)
      .groupBy('day')
      .execute()) as { day: string; n: unknown }[];
    for (const r of perDay) active.set(r.day, Number(r.n));
  } else if (range.groupBy !== 'hour') {
    for (const key of keys) {
      const start = key.length === 7 ? `${key}-01` : key;
      const end = key.length === 7 ? addDays(`${key}-01`, new Date(Date.UTC(Number(key.slice(0, 4)), Number(key.slice(5, 7)), 0)).getUTCDate() - 1) : addDays(key, 6);
      active.set(key, await distinctActive(db, start < range.from ? range.from : start, end > range.to ? range.to : end));
    }
  }
  const series = keys.map((bucket) => ({ bucket, signups: get(groups.get(bucket), METRICS.signups), activeUsers: range.groupBy === 'hour' ? null : (active.get(bucket) ?? 0) }));
  return {
    ...range,
    series,
    totals: {
      signups: series.reduce((a, s) => a + s.signups, 0),
      dau: await distinctActive(db, range.to, range.to),
      wau: await distinctActive(db, addDays(range.to, -6), range.to),
      mau: await distinctActive(db, addDays(range.to, -29), range.to),
    },
  };
}

export async function paymentsReport(db: Kysely<any>, range: ReportRange): Promise<z.output<typeof paymentsReportSchema>> {
  const rows = await readRollups(db, grainOf(range.groupBy), [METRICS.paymentsSucceeded, METRICS.paymentsFailed], range.from, range.to);
  const groups = grouped(rows, range.groupBy);
  const figures = (succeeded: number, failed: number) => ({ succeeded, failed, successRate: succeeded + failed > 0 ? Math.round((succeeded / (succeeded + failed)) * 10_000) / 10_000 : null });
  const series = groupKeys(range.from, range.to, range.groupBy).map((bucket) => {
    const g = groups.get(bucket);
    return { bucket, ...figures(sumDims(g, METRICS.paymentsSucceeded), sumDims(g, METRICS.paymentsFailed)) };
  });
  return { ...range, series, totals: figures(series.reduce((a, s) => a + s.succeeded, 0), series.reduce((a, s) => a + s.failed, 0)) };
}

export async function lowStockReport(db: Kysely<any>, range: ReportRange, limit: number): Promise<z.output<typeof lowStockReportSchema>> {
  const crossings = await totalsByDim(db, METRICS.lowStock, range.from, range.to);
  const data = [...crossings]
    .sort(([a, x], [b, y]) => y.value - x.value || (a < b ? -1 : 1))
    .slice(0, limit)
    .map(([sku, r]) => ({ sku, crossings: r.value, lastDay: r.lastDay }));
  return { ...range, data };
}

export { dayNumber };
