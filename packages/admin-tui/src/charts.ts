/**
 * Terminal charts without a dependency: a bar per bucket (time runs down the
 * screen, so any number of buckets fits) and sparklines for a one-line trend.
 * Pure string functions, shared by `plinth reports show` and the console's
 * Reports screen (imported from `@plinth/admin-tui/charts`, which loads no Ink).
 */
import { money } from './format.js';

const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** A bar of `value / max` of `width` cells, with eighth-cell precision. */
export function bar(value: number, max: number, width: number): string {
  if (!(max > 0) || !(value > 0)) return '';
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + BLOCKS[eighths % 8];
}

/** `▁▂▅█▃`: one character per value, scaled between the smallest and the largest. */
export function sparkline(values: readonly number[]): string {
  if (!values.length) return '';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => (hi === lo ? (hi > 0 ? SPARKS[3] : SPARKS[0]) : SPARKS[Math.round(((v - lo) / (hi - lo)) * (SPARKS.length - 1))])).join('');
}

export interface BarChartOptions {
  title: string;
  /** Width of the longest bar in cells; default 40. */
  width?: number;
  /** How a value is printed beside its bar; default the number. */
  format?: (value: number) => string;
  /** The value of a full bar; default the largest of `points` (give the whole series' when drawing a window of it). */
  max?: number;
}

/** A titled bar chart: one line per point, `label │█████ value`. */
export function barChart(points: readonly { label: string; value: number }[], options: BarChartOptions): string[] {
  const width = options.width ?? 40;
  const format = options.format ?? ((v: number) => String(v));
  const max = options.max ?? Math.max(0, ...points.map((p) => p.value));
  const labelWidth = Math.max(0, ...points.map((p) => p.label.length));
  const lines = [options.title];
  if (!points.length) return [...lines, '  (no data)'];
  for (const p of points) lines.push(`  ${p.label.padEnd(labelWidth)} │${bar(p.value, max, width).padEnd(width + 1)} ${format(p.value)}`);
  return lines;
}

/** Minor units as a decimal amount with its currency: `1234.50 EUR` (two decimals unless the currency has none). */
export function formatMoney(amount: number, currency: string): string {
  return money({ amount, currency });
}

/**
 * What `plinth reports show` and the Reports screen draw: net revenue and
 * orders per bucket in one currency, and the top products. Built from the
 * sales, orders and products reports (the service's or the API's answers).
 */
export interface ShowReport {
  from: string;
  to: string;
  groupBy: string;
  timezone: string;
  /** The charted currency: the one asked for, else the one with the most gross revenue; null without sales. */
  currency: string | null;
  /** Every currency with sales in the range, most gross revenue first. */
  currencies: string[];
  revenue: { bucket: string; gross: number; refunds: number; net: number; orders: number }[];
  orders: { bucket: string; created: number; paid: number }[];
  top: { productId: string; name: string | null; units: number }[];
}

interface SalesFigures {
  currency: string;
  orders: number;
  gross: number;
  refunds: number;
  net: number;
}
export interface ShowSources {
  sales: { from: string; to: string; groupBy: string; timezone: string; series: readonly (SalesFigures & { bucket: string })[]; totals: readonly SalesFigures[] };
  orders: { series: readonly { bucket: string; created: number; paid: number }[] };
  products: { data: readonly { productId: string; name: string | null; units: number }[] };
}

/** The currency to chart: `wanted`, else the one with the most gross revenue (null without sales). */
export function chartCurrency(totals: readonly SalesFigures[], wanted?: string): string | null {
  return wanted ?? [...totals].sort((a, b) => b.gross - a.gross)[0]?.currency ?? null;
}

/** Joins the three reports into one `ShowReport` (buckets from the orders report, so quiet buckets are zeros). */
export function showReport({ sales, orders, products }: ShowSources, currency: string | null): ShowReport {
  const byBucket = new Map(sales.series.filter((s) => s.currency === currency).map((s) => [s.bucket, s]));
  return {
    from: sales.from,
    to: sales.to,
    groupBy: sales.groupBy,
    timezone: sales.timezone,
    currency,
    currencies: [...sales.totals].sort((a, b) => b.gross - a.gross).map((t) => t.currency),
    revenue: orders.series.map(({ bucket }) => {
      const s = byBucket.get(bucket);
      return { bucket, gross: s?.gross ?? 0, refunds: s?.refunds ?? 0, net: s?.net ?? 0, orders: s?.orders ?? 0 };
    }),
    orders: orders.series.map((s) => ({ bucket: s.bucket, created: s.created, paid: s.paid })),
    top: products.data.map((p) => ({ productId: p.productId, name: p.name, units: p.units })),
  };
}

/** Net revenue and paid orders over the whole report. */
export function showTotals(report: ShowReport): { net: number; paid: number; placed: number } {
  return {
    net: report.revenue.reduce((a, r) => a + r.net, 0),
    paid: report.revenue.reduce((a, r) => a + r.orders, 0),
    placed: report.orders.reduce((a, o) => a + o.created, 0),
  };
}
