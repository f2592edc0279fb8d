import type { Kysely } from 'kysely';
import type { exportableReports, exportFormats } from '../../contract/reports.js';
import type { Grain } from './buckets.js';
import { METRICS } from './facts.js';
import { ROLLUPS_TABLE } from './migrations.js';
import { bucketBounds, type RollupRow } from './reports.js';

export type ExportableReport = (typeof exportableReports)[number];
export type ExportFormat = (typeof exportFormats)[number];

/** The rollup metrics each report's export holds. */
export const EXPORT_METRICS: Record<ExportableReport, readonly string[]> = {
  sales: [METRICS.salesOrders, METRICS.salesGross, METRICS.salesRefunds],
  orders: [METRICS.ordersCreated, METRICS.ordersPaid, METRICS.ordersFulfilled, METRICS.ordersCancelled, METRICS.ordersExpired, METRICS.ordersRefunded, METRICS.ordersPartiallyRefunded],
  products: [METRICS.productUnits, METRICS.productRevenue],
  categories: [METRICS.categoryUnits],
  users: [METRICS.signups],
  payments: [METRICS.paymentsSucceeded, METRICS.paymentsFailed],
  'low-stock': [METRICS.lowStock],
};

/** Rows per query: memory holds one page, whatever the export's size. */
export const EXPORT_PAGE = 1000;

/**
 * The rollup rows of a report, in (bucket, metric, dimension) order, one page
 * per query (keyset pagination on the primary key): an export of any size
 * holds at most one page in memory.
 */
export async function* rollupRows(db: Kysely<any>, grain: Grain, metrics: readonly string[], from: string, to: string, page = EXPORT_PAGE): AsyncGenerator<RollupRow[]> {
  const [lo, hi] = bucketBounds(from, to, grain);
  let after: RollupRow | undefined;
  for (;;) {
    let q = db
      .selectFrom(ROLLUPS_TABLE)
      .select(['bucket', 'metric', 'dim', 'value'])
      .where('grain', '=', grain)
      .where('metric', 'in', metrics)
      .where('bucket', '<=', hi);
    const last = after;
    q = last
      ? q.where((eb) =>
          eb.or([
            eb('bucket', '>', last.bucket),
            eb.and([eb('bucket', '=', last.bucket), eb('metric', '>', last.metric)]),
            eb.and([eb('bucket', '=', last.bucket), eb('metric', '=', last.metric), eb('dim', '>', last.dim)]),
          ]),
        )
      : q.where('bucket', '>=', lo);
    const rows = (await q.orderBy('bucket').orderBy('metric').orderBy('dim').limit(page).execute()) as { bucket: string; metric: string; dim: string; value: unknown }[];
    if (rows.length === 0) return;
    const out = rows.map((r) => ({ bucket: r.bucket, metric: r.metric, dim: r.dim, value: Number(r.value) }));
    yield out;
    if (rows.length < page) return;
    after = out[out.length - 1];
  }
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break; a leading `=+-@` is defused for spreadsheets. */
function csvField(value: string | number): string {
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Serializes pages of rows as CSV (with a header line) or JSON Lines, one chunk per page. */
export async function* formatRows(pages: AsyncIterable<RollupRow[]>, format: ExportFormat): AsyncGenerator<string> {
  if (format === 'csv') yield 'bucket,metric,dimension,value\r\n';
  for await (const rows of pages) {
    let chunk = '';
    for (const r of rows) {
      chunk +=
        format === 'csv'
          ? `${csvField(r.bucket)},${csvField(r.metric)},${csvField(r.dim)},${r.value}\r\n`
          : `${JSON.stringify({ bucket: r.bucket, metric: r.metric, dimension: r.dim, value: r.value })}\n`;
    }
    yield chunk;
  }
}
