import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tabLabels } from './admin-app.js';
import { bar, barChart, chartCurrency, showReport, showTotals, sparkline } from './charts.js';
import { fileTokenStore, forgetServer, savedServer } from './credentials.js';
import { fit, layout, money, parseAmount, row } from './format.js';
import { actionFor, globalBindings, listBindings } from './key-bindings.js';
import { httpTotals, parseMetrics } from './metrics.js';
import { parseAdjustment } from './screens/catalog.js';
import { freshnessLine, lastDays } from './screens/reports.js';
import { deliveryState, endpointState, latestAttempt, replayOutcome } from './screens/webhooks.js';

describe('console pieces', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('money in and out of minor units, per currency', () => {
    expect(money({ amount: 123456, currency: 'EUR' })).toBe('1234.56 EUR');
    expect(money({ amount: 500, currency: 'JPY' })).toBe('500 JPY');
    expect(parseAmount('12.5', 'EUR')).toBe(1250);
    expect(parseAmount(' 3 ', 'EUR')).toBe(300);
    expect(parseAmount('1.234', 'EUR')).toBeUndefined();
    expect(parseAmount('-1', 'EUR')).toBeUndefined();
    expect(parseAmount('12.5', 'JPY')).toBeUndefined();
    expect(parseAmount('abc', 'EUR')).toBeUndefined();
  });

  it('columns fit the width; optional ones drop first when narrow', () => {
    const cols = [
      { title: 'Id', width: 0, value: (r: { id: string }) => r.id },
      { title: 'When', width: 16, optional: true, value: () => '2026-11-21 10:00' },
      { title: 'Total', width: 10, align: 'right' as const, value: () => '1.00 EUR' },
    ];
    const wide = layout(cols, 80);
    expect(wide[1]).toBe(16);
    expect(row(cols, wide, { id: 'x' })).toHaveLength(80);
    const narrow = layout(cols, 30);
    expect(narrow[1]).toBe(0);
    expect(row(cols, narrow, { id: 'abcdefghijklmnopqrstuvwxyz' })).toHaveLength(30);
    expect(fit('abcdef', 4)).toBe('abc…');
  });

  it('stock adjustments are parsed from one line, with readable refusals', () => {
    expect(parseAdjustment('+5 receipt pallet 7')).toEqual({ delta: 5, reason: 'receipt', note: 'pallet 7' });
    expect(parseAdjustment('-2 damage')).toEqual({ delta: -2, reason: 'damage' });
    expect(parseAdjustment('0 receipt')).toBe('The change must not be 0');
    expect(parseAdjustment('+1 because')).toMatch(/Reason must be one of/);
    expect(parseAdjustment('five')).toMatch(/Write it as/);
  });

  it('reads Prometheus text: HTTP totals and 5xx', () => {
    const samples = parseMetrics(
      ['# HELP x', 'plinth_http_requests_total{method="GET",route="/a",status="200"} 10', 'plinth_http_requests_total{method="GET",route="/b",status="503"} 2', 'plinth_outbox_pending 3'].join('\n'),
    );
    expect(httpTotals(samples)).toEqual({ requests: 12, errors: 2 });
    expect(samples.find((s) => s.name === 'plinth_outbox_pending')?.value).toBe(3);
  });

  it('keys are data: each key maps to one action', () => {
    expect(actionFor('j', listBindings)).toBe('down');
    expect(actionFor('up', listBindings)).toBe('up');
    expect(actionFor('q', globalBindings)).toBe('quit');
    expect(actionFor('3', globalBindings)).toBe('screen');
    const all = [...globalBindings, ...listBindings].flatMap((b) => b.keys);
    expect(new Set(all).size).toBe(all.length);
  });

  it('the credentials file is private (0600), keeps tokens per server, and is removed when empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-cred-'));
    dirs.push(dir);
    const path = join(dir, 'nested', 'credentials.json');
    const store = fileTokenStore('http://a.test', { path, email: () => 'a@x.test' });
    expect(store.get()).toBeNull();
    store.set({ accessToken: 'at', refreshToken: 'rt', expiresAt: 1 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    expect(store.get()).toEqual({ accessToken: 'at', refreshToken: 'rt', expiresAt: 1 });
    expect(savedServer('http://a.test', path)?.email).toBe('a@x.test');
    expect(savedServer('http://b.test', path)).toBeUndefined();
    expect(forgetServer('http://a.test', path)).toBe(true);
    expect(() => statSync(path)).toThrow();
    expect(forgetServer('http://a.test', path)).toBe(false);
  });
  it('charts: bars in eighths, sparklines between the extremes, a window of a series keeps its scale', () => {
    expect(bar(10, 10, 4)).toBe('████');
    expect(bar(5, 10, 4)).toBe('██');
    expect(bar(1, 80, 1)).toBe('▏');
    expect(bar(0, 10, 4)).toBe('');
    expect(sparkline([0, 5, 10])).toBe('▁▅█');
    expect(sparkline([3, 3])).toBe('▄▄');
    expect(sparkline([])).toBe('');
    const points = [{ label: 'a', value: 2 }, { label: 'bb', value: 4 }];
    expect(barChart(points, { title: 'T', width: 4 })).toEqual(['T', '  a  │██    2', '  bb │████  4']);
    expect(barChart(points.slice(0, 1), { title: 'T', width: 4, max: 4 })).toEqual(['T', '  a │██    2']);
    expect(barChart([], { title: 'T' })).toEqual(['T', '  (no data)']);
  });

  it('a report to chart: the currency with most revenue, every bucket (quiet ones as zeros), totals', () => {
    const figures = (currency: string, gross: number) => ({ currency, orders: 1, gross, refunds: 0, net: gross });
    const sales = {
      from: '2026-11-01', to: '2026-11-02', groupBy: 'day', timezone: 'UTC',
      series: [{ bucket: '2026-11-02', ...figures('EUR', 500) }, { bucket: '2026-11-02', ...figures('USD', 100) }],
      totals: [figures('USD', 100), figures('EUR', 500)],
    };
    const orders = { series: [{ bucket: '2026-11-01', created: 2, paid: 0 }, { bucket: '2026-11-02', created: 3, paid: 2 }] };
    const products = { data: [{ productId: 'p1', name: 'Kettle', units: 3 }] };
    expect(chartCurrency(sales.totals)).toBe('EUR');
    expect(chartCurrency(sales.totals, 'USD')).toBe('USD');
    expect(chartCurrency([])).toBeNull();
    const report = showReport({ sales, orders, products }, 'EUR');
    expect(report.currencies).toEqual(['EUR', 'USD']);
    expect(report.revenue.map((r) => r.net)).toEqual([0, 500]);
    expect(showTotals(report)).toEqual({ net: 500, paid: 1, placed: 5 });
    expect(showReport({ sales, orders, products }, 'USD').revenue.map((r) => r.net)).toEqual([0, 100]);
  });

  it('the tab bar fits: roomy, then tight, then only the current tab named', () => {
    const titles = ['Dashboard', 'Users', 'Orders', 'Catalog', 'Reports', 'Jobs', 'Webhooks', 'Audit'];
    const bar = (width: number, color = false) => {
      const { labels, gap } = tabLabels(titles, 2, width, color);
      return labels.join(gap);
    };
    expect(bar(100)).toBe(' 1 Dashboard  2 Users [3 Orders] 4 Catalog  5 Reports  6 Jobs  7 Webhooks  8 Audit ');
    expect(bar(78)).toBe('1 Dashboard 2 Users [3 Orders] 4 Catalog 5 Reports 6 Jobs 7 Webhooks 8 Audit');
    expect(bar(40)).toBe('1 2 [3 Orders] 4 5 6 7 8');
    expect(bar(78, true)).toBe('1 Dashboard 2 Users 3 Orders 4 Catalog 5 Reports 6 Jobs 7 Webhooks 8 Audit');
    for (const width of [100, 78, 60, 40]) expect(bar(width).length).toBeLessThanOrEqual(width);
  });

  it('reports: the last n days in the server time zone; the rollups lag as a line', () => {
    const at = new Date('2026-11-21T23:30:00Z');
    expect(lastDays(7, 'UTC', at)).toEqual({ from: '2026-11-15', to: '2026-11-21' });
    expect(lastDays(30, 'Asia/Tokyo', at)).toEqual({ from: '2026-10-24', to: '2026-11-22' });
    const base = { timezone: 'UTC', configuredTimezone: 'UTC', rebuildRequired: false, appliedEvents: 12, lastAppliedAt: null };
    expect(freshnessLine({ ...base, lagSeconds: 0 }).text).toBe('Rollups up to date · 12 events applied');
    expect(freshnessLine({ ...base, lagSeconds: 125 })).toEqual({ text: 'Rollups 2m 5s behind · 12 events applied', tint: 'yellow' });
    expect(freshnessLine({ ...base, configuredTimezone: 'Europe/Paris', rebuildRequired: true, lagSeconds: 0 }).text).toMatch(/run plinth reports rebuild/);
  });

  it('webhooks: states as a person says them; the newest attempt by time (a replay counts from 1 again)', () => {
    expect(deliveryState('succeeded')).toBe('delivered');
    expect(deliveryState('failed')).toBe('failed');
    expect(endpointState({ enabled: true, disabledReason: null })).toBe('enabled');
    expect(endpointState({ enabled: false, disabledReason: 'disabled by an admin' })).toBe('disabled');
    expect(endpointState({ enabled: false, disabledReason: '50 failed attempts in a row' })).toBe('auto-disabled');
    const attempt = (n: number, at: string, statusCode: number) => ({ attempt: n, createdAt: at, statusCode, latencyMs: 1, response: null, error: null });
    expect(latestAttempt([attempt(1, '2026-11-21T10:00:00Z', 500), attempt(1, '2026-11-21T11:00:00Z', 200), attempt(2, '2026-11-21T10:01:00Z', 500)])?.statusCode).toBe(200);
    expect(latestAttempt([])).toBeUndefined();
    expect(replayOutcome('d1', { status: 'succeeded' }, attempt(1, '2026-11-21T11:00:00Z', 200))).toEqual({ kind: 'ok', text: 'Replayed d1: delivered, HTTP 200 in 1 ms' });
    expect(replayOutcome('d1', { status: 'pending' }, { ...attempt(1, '2026-11-21T11:00:00Z', 500), error: 'receiver answered 500' })).toEqual({
      kind: 'error',
      text: 'Replayed d1: the receiver failed again (HTTP 500 in 1 ms · receiver answered 500); pending',
    });
    expect(replayOutcome('d1', { status: 'pending' }, undefined).kind).toBe('info');
  });
});
