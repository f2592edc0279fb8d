import { Box, Text } from 'ink';
import { useState } from 'react';
import type { AdminClient } from '../api.js';
import { barChart, chartCurrency, type ShowReport, showReport, showTotals, sparkline } from '../charts.js';
import { duration, fit, money } from '../format.js';
import { paint, useConsole } from '../ui/context.js';
import { useLoad } from '../ui/hooks.js';
import { useScreenKeys } from '../ui/use-keys.js';
import { move } from '../ui/virtual-list.js';
import type { ScreenDef } from './screen.js';

type Freshness = Awaited<ReturnType<AdminClient['getReportsFreshness']>>;

const bindings = [
  { keys: ['t'], action: 'range', label: 'range: last 7, 30, 90 days' },
  { keys: ['b'], action: 'grouping', label: 'buckets: day, week, month' },
  { keys: ['c'], action: 'currency', label: 'next currency (when sales are in several)' },
] as const;

const ranges = [7, 30, 90] as const;
const groupings = ['day', 'week', 'month'] as const;
/** Top products listed (as `plinth reports show`). */
const TOP = 5;

/** `YYYY-MM-DD` of `at` in `timeZone` (the reports' days are local to the server's analytics time zone). */
export function localDay(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** The `days` days ending today (in `timeZone`), inclusive. */
export function lastDays(days: number, timeZone: string, now = new Date()): { from: string; to: string } {
  const to = localDay(now, timeZone);
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  return { from, to };
}

/** How far behind the rollups are, as a line (and whether it is worth a colour). */
export function freshnessLine(f: Freshness): { text: string; tint?: string } {
  if (f.rebuildRequired) return { text: `Rollups are in ${f.timezone} but analytics.timezone is ${f.configuredTimezone}: run plinth reports rebuild`, tint: 'red' };
  const applied = `${f.appliedEvents} event${f.appliedEvents === 1 ? '' : 's'} applied`;
  if (f.lagSeconds <= 0) return { text: `Rollups up to date · ${applied}` };
  return { text: `Rollups ${duration(f.lagSeconds)} behind · ${applied}`, tint: f.lagSeconds > 60 ? 'yellow' : undefined };
}

function ReportsScreen() {
  const ctx = useConsole();
  const [range, setRange] = useState(1);
  const [grouping, setGrouping] = useState(0);
  const [currency, setCurrency] = useState<string | undefined>(undefined);
  // The last bucket in view; null follows the newest.
  const [last, setLast] = useState<number | null>(null);
  const days = ranges[range]!;
  const groupBy = groupings[grouping]!;
  const load = useLoad(
    async (c, signal) => {
      const freshness = await c.getReportsFreshness(undefined, { signal });
      const query = { ...lastDays(days, freshness.timezone), groupBy, ...(currency ? { currency } : {}) };
      const [sales, orders, products] = await Promise.all([
        c.getSalesReport({ query }, { signal }),
        c.getOrdersReport({ query }, { signal }),
        c.getProductsReport({ query: { ...query, limit: TOP } }, { signal }),
      ]);
      return { freshness, report: showReport({ sales, orders, products }, chartCurrency(sales.totals, currency)) };
    },
    [days, groupBy, currency],
  );

  const report = load.data?.report;
  const buckets = report?.revenue.length ?? 0;
  const window = chartRows(ctx.bodyRows, report);
  const end = Math.min(buckets - 1, last ?? buckets - 1);

  useScreenKeys(bindings, (action) => {
    if (['up', 'down', 'pageUp', 'pageDown', 'top', 'bottom'].includes(action)) {
      const next = move(action, end, buckets, window);
      return setLast(next >= buckets - 1 ? null : Math.max(Math.min(window, buckets) - 1, next));
    }
    if (action === 'range') setRange((n) => (n + 1) % ranges.length);
    else if (action === 'grouping') setGrouping((n) => (n + 1) % groupings.length);
    else if (action === 'currency') {
      const all = report?.currencies ?? [];
      if (all.length < 2) return ctx.setStatus({ kind: 'info', text: all.length ? `All sales in the range are in ${all[0]}` : 'No sales in the range' });
      const at = all.indexOf(report?.currency ?? '');
      setCurrency(all[(at + 1) % all.length]);
    } else if (action === 'search' || action === 'open') return ctx.setStatus({ kind: 'info', text: 'Reports: t changes the range, b the buckets, c the currency; ↑/↓ scroll the charts' });
    if (action === 'range' || action === 'grouping') setLast(null);
  });

  if (!load.data) return load.state === 'error' ? <Text color={paint(ctx, 'red')}>{load.message}</Text> : <Text dimColor>Loading…</Text>;
  const { freshness } = load.data;
  const r = load.data.report;
  return (
    <Box flexDirection="column">
      {load.state === 'error' && <Text color={paint(ctx, 'red')}>{fit(`${load.message} (showing the last answer)`, ctx.columns)}</Text>}
      <ReportView report={r} freshness={freshness} days={days} end={end} window={window} />
    </Box>
  );
}

/** Rows left for the bar charts once the summary lines and the top products are drawn. */
function chartRows(bodyRows: number, report: ShowReport | undefined): number {
  const top = report?.top.length ? Math.min(TOP, report.top.length) + 1 : 0;
  return Math.max(2, bodyRows - 5 - top);
}

function ReportView({ report, freshness, days, end, window }: { report: ShowReport; freshness: Freshness; days: number; end: number; window: number }) {
  const ctx = useConsole();
  const width = ctx.columns;
  const cash = (v: number) => (report.currency ? money({ amount: v, currency: report.currency }) : String(v));
  const totals = showTotals(report);
  const fresh = freshnessLine(freshness);
  const others = report.currencies.filter((c) => c !== report.currency);
  const head = `Last ${days} days: ${report.from} → ${report.to} by ${report.groupBy} (${report.timezone})${report.currency ? ` · ${report.currency}` : ''}${others.length ? ` (c: ${others.join(', ')})` : ''}`;

  // One-line trends over the whole range (the newest buckets when they do not all fit).
  const trend = (label: string, values: number[], total: string) => {
    const room = Math.max(4, width - 16 - total.length - 2);
    return `${fit(label, 15)} ${sparkline(values.slice(-room))}  ${total}`;
  };
  // The bar charts: the buckets in view, scaled to the whole range so scrolling keeps the proportions.
  const start = Math.max(0, end - window + 1);
  const half = Math.floor((width - 1) / 2);
  const chart = (title: string, points: { label: string; value: number }[], format: (v: number) => string) => {
    const labelWidth = Math.max(0, ...points.map((p) => p.label.length));
    const valueWidth = Math.max(1, ...points.map((p) => format(p.value).length));
    const max = Math.max(0, ...points.map((p) => p.value));
    return barChart(points.slice(start, end + 1), { title, width: Math.max(4, half - labelWidth - valueWidth - 6), format, max });
  };
  const revenue = chart(`Net revenue${report.currency ? ` (${report.currency})` : ''}`, report.revenue.map((b) => ({ label: b.bucket, value: b.net })), cash);
  const orders = chart('Orders placed', report.orders.map((b) => ({ label: b.bucket, value: b.created })), String);
  const scrolled = start > 0 || end < report.revenue.length - 1 ? ` ${start + 1}-${end + 1}/${report.revenue.length}` : '';
  const top = report.top.slice(0, TOP).map((p) => ({ label: fit(p.name ?? p.productId, Math.min(30, Math.floor(width / 3))).trimEnd(), value: p.units }));
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit(head, width)}</Text>
      <Text color={fresh.tint ? paint(ctx, fresh.tint) : undefined}>{fit(fresh.text, width)}</Text>
      <Text>{fit(trend('Net revenue', report.revenue.map((b) => b.net), `${cash(totals.net)} from ${totals.paid} paid order${totals.paid === 1 ? '' : 's'}`), width)}</Text>
      <Text>{fit(trend('Orders placed', report.orders.map((b) => b.created), `${totals.placed} placed`), width)}</Text>
      <Box>
        {[revenue, orders].map((lines, i) => (
          <Box key={i} flexDirection="column" width={half} marginRight={i === 0 ? 1 : 0}>
            {lines.map((line, j) => (
              <Text key={j} bold={j === 0}>
                {fit(j === 0 && i === 1 ? `${line}${scrolled}` : line, half)}
              </Text>
            ))}
          </Box>
        ))}
      </Box>
      {top.length > 0 &&
        barChart(top, { title: 'Top products by units', width: Math.max(4, Math.min(30, width - Math.max(...top.map((p) => p.label.length)) - 14)) }).map((line, i) => (
          <Text key={i} bold={i === 0}>
            {fit(line, width)}
          </Text>
        ))}
    </Box>
  );
}

export const reportsScreen: ScreenDef = { id: 'reports', title: 'Reports', bindings, Component: ReportsScreen, permission: 'reports:read' };
