import type { AnalyticsService, RebuildResult } from '@plinth/core';
import { exportableReports, exportFormats, reportDaySchema, reportGroupings } from '@plinth/core/contract';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { action } from '../action.js';
import { barChart, chartCurrency, formatMoney, type ShowReport, showReport, showTotals, sparkline } from '@plinth/admin-tui/charts';
import { type CliContext, type GlobalOptions, globalOptions } from '../instance.js';
import { operate } from '../operate.js';
import { columns, printJson, printLines, writeOutput } from '../output.js';

/**
 * `plinth reports rebuild|export|show`: the analytics rollups. `rebuild`
 * recomputes them from the event history (a progress bar at a terminal);
 * `export` streams a report's rollup rows as CSV or JSON Lines; `show` draws
 * revenue and orders over time in the terminal.
 */

function parseDay(value: string): string {
  if (!reportDaySchema.safeParse(value).success) throw new InvalidArgumentError('must be a date written YYYY-MM-DD.');
  return value;
}

function analyticsOf(plinth: { optionalService<S>(name: string): S | undefined }): AnalyticsService {
  const service = plinth.optionalService<AnalyticsService>('analytics');
  if (!service) throw new InvalidArgumentError('The analytics module is not loaded: reports need it');
  return service;
}

export interface RebuildReport extends RebuildResult {
  eventsPerSecond: number;
}

export function gatherRebuild(globals: GlobalOptions, ctx: CliContext, options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<RebuildReport> {
  return operate(globals, ctx, async (op) => {
    const result = await analyticsOf(op.plinth).rebuild({
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      onProgress: (p) => options.onProgress?.(p.events, p.total),
    });
    return { ...result, eventsPerSecond: result.seconds > 0 ? Math.round(result.events / result.seconds) : result.events };
  });
}

export function printRebuild(report: RebuildReport, json: boolean): void {
  if (json) return printJson(report);
  printLines([
    `Rebuilt the rollups from ${report.events} event${report.events === 1 ? '' : 's'} in ${report.seconds.toFixed(2)} s (${report.eventsPerSecond} events/s), days and hours in ${report.timezone}.`,
  ]);
}

export interface ShowQuery {
  from?: string | undefined;
  to?: string | undefined;
  groupBy?: (typeof reportGroupings)[number] | undefined;
  currency?: string | undefined;
}

export type { ShowReport };

export function gatherShow(globals: GlobalOptions, ctx: CliContext, query: ShowQuery): Promise<ShowReport> {
  return operate(globals, ctx, async (op) => {
    const analytics = analyticsOf(op.plinth);
    const sales = await analytics.sales(query, op.caller);
    const orders = await analytics.orders(query, op.caller);
    const products = await analytics.products({ ...query, limit: 5 }, op.caller);
    return showReport({ sales, orders, products }, chartCurrency(sales.totals, query.currency));
  });
}

export function renderShow(report: ShowReport, width = 40): string[] {
  const money = (v: number) => (report.currency ? formatMoney(v, report.currency) : String(v));
  const lines = [`Reports ${report.from} → ${report.to} by ${report.groupBy} (${report.timezone})`, ''];
  lines.push(
    ...barChart(
      report.revenue.map((r) => ({ label: r.bucket, value: r.net })),
      { title: `Net revenue${report.currency ? ` (${report.currency})` : ''}  ${sparkline(report.revenue.map((r) => r.net))}`, width, format: money },
    ),
    '',
    ...barChart(
      report.orders.map((o) => ({ label: o.bucket, value: o.created })),
      { title: `Orders placed  ${sparkline(report.orders.map((o) => o.created))}`, width, format: (v) => String(v) },
    ),
    '',
  );
  const { net, paid } = showTotals(report);
  lines.push(`Total: ${money(net)} net from ${paid} paid order${paid === 1 ? '' : 's'}`);
  if (report.top.length) {
    lines.push('', 'Top products by units:', ...columns(report.top.map((p) => [String(p.units).padStart(6), p.name ?? p.productId])));
  }
  return lines;
}

export function addReportsCommand(program: Command, ctx: CliContext): Command {
  const reports = program
    .command('reports')
    .description('Analytics rollups: rebuild them, export them, chart them')
    .addHelpText('after', '\nRollups are kept up to date by workers from the outbox; days and hours are in analytics.timezone (PLINTH_ANALYTICS_TIMEZONE, default UTC).');

  reports
    .command('rebuild')
    .description('Recompute every rollup from the event history (equal to what the workers computed)')
    .option('--batch-size <n>', 'events per transaction (default 1000)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000.');
      return n;
    })
    .action(
      action(async (opts: { batchSize?: number }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const tty = !globals.json && process.stderr.isTTY === true;
        const progress = tty ? new SingleBar({ format: 'rebuilding |{bar}| {percentage}% {value}/{total} events', stream: process.stderr, hideCursor: true, clearOnComplete: true }) : undefined;
        let started = false;
        try {
          const report = await gatherRebuild(globals, ctx, {
            ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
            onProgress(done, total) {
              if (!progress) return;
              if (!started) {
                progress.start(Math.max(total, 1), done);
                started = true;
              } else {
                progress.setTotal(Math.max(total, done, 1));
                progress.update(done);
              }
            },
          });
          if (started) progress?.stop();
          printRebuild(report, globals.json);
        } finally {
          if (started) progress?.stop();
        }
      }),
    );

  reports
    .command('export')
    .description("Stream a report's rollup rows (bucket, metric, dimension, value) as CSV or JSON Lines")
    .argument('[report]', `one of ${exportableReports.join(', ')}`, 'sales')
    .addOption(new Option('--format <format>', 'csv or jsonl').choices(exportFormats).default('csv'))
    .option('--from <date>', 'first day, YYYY-MM-DD (default: 29 days before --to)', parseDay)
    .option('--to <date>', 'last day, YYYY-MM-DD (default: today)', parseDay)
    .addOption(new Option('--grain <grain>', 'rows per hour or per day').choices(['hour', 'day']).default('day'))
    .option('--out <file>', 'write to this file (complete or not at all) instead of stdout')
    .action(
      action(async (name: string, opts: { format: 'csv' | 'jsonl'; from?: string; to?: string; grain: 'hour' | 'day'; out?: string }, cmd: Command) => {
        if (!(exportableReports as readonly string[]).includes(name)) throw new InvalidArgumentError(`Unknown report "${name}": one of ${exportableReports.join(', ')}`);
        const globals = globalOptions(cmd);
        await writeOutput(opts.out, (write) =>
          operate(globals, ctx, async (op) => {
            const body = await analyticsOf(op.plinth).exportReport(name as (typeof exportableReports)[number], { format: opts.format, from: opts.from, to: opts.to, grain: opts.grain }, op.caller);
            for await (const chunk of body.chunks) await write(chunk);
          }),
        );
      }),
    );

  reports
    .command('show')
    .description('Chart net revenue and orders over time, and the top products, in the terminal')
    .option('--from <date>', 'first day, YYYY-MM-DD (default: 29 days before --to)', parseDay)
    .option('--to <date>', 'last day, YYYY-MM-DD (default: today)', parseDay)
    .addOption(new Option('--group-by <grouping>', 'bucket size').choices(reportGroupings).default('day'))
    .option('--currency <code>', 'the currency to chart (default: the one with the most revenue)', (v) => {
      if (!/^[A-Z]{3}$/.test(v)) throw new InvalidArgumentError('must be an ISO 4217 code in capitals, e.g. EUR.');
      return v;
    })
    .action(
      action(async (opts: { from?: string; to?: string; groupBy: (typeof reportGroupings)[number]; currency?: string }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherShow(globals, ctx, { from: opts.from, to: opts.to, groupBy: opts.groupBy, currency: opts.currency });
        if (globals.json) return printJson(report);
        const width = Math.max(10, Math.min(60, (process.stdout.columns ?? 100) - 40));
        printLines(renderShow(report, width));
      }),
    );
  return reports;
}
