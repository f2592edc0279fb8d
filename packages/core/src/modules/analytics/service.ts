import type { z } from 'zod';
import type { StreamedBody } from '../../contract/route.js';
import { type exportableReports, type freshnessSchema, reportsErrors, type ReportsErrorCode } from '../../contract/reports.js';
import { PlinthError } from '../../errors.js';
import { JOBS_TABLE } from '../../jobs/migrations.js';
import type { KernelContext } from '../../module.js';
import { OUTBOX_TABLE } from '../../outbox/outbox.js';
import type { Caller } from '../identity/types.js';
import { applyEvents, type ApplyResult, setStoredTimeZone, storedTimeZone } from './apply.js';
import { addDays, bucketsOf, dayNumber, type GroupBy } from './buckets.js';
import { type ExportFormat, EXPORT_METRICS, formatRows, rollupRows } from './export.js';
import { ANALYTICS_EVENTS, type AnalyticsEvent } from './facts.js';
import { analyticsMetricsFor, type AnalyticsMetrics } from './metrics.js';
import { ACTIVE_USERS_TABLE, APPLIED_TABLE, ROLLUPS_TABLE } from './migrations.js';
import * as reports from './reports.js';

export const APPLY_JOB = 'analytics.apply';

/** Longest range a report answers: 31 days hourly, about ten years otherwise. */
export const MAX_HOURLY_DAYS = 31;
export const MAX_DAYS = 3660;

export interface ReportQueryInput {
  from?: string | undefined;
  to?: string | undefined;
  groupBy?: GroupBy | undefined;
  currency?: string | undefined;
  limit?: number | undefined;
}

export interface RebuildProgress {
  /** Events read so far. */
  events: number;
  /** Events to read (counted when the rebuild started). */
  total: number;
}

export interface RebuildResult {
  events: number;
  applied: number;
  seconds: number;
  timezone: string;
}

export interface ExportQuery {
  format?: ExportFormat | undefined;
  from?: string | undefined;
  to?: string | undefined;
  grain?: 'hour' | 'day' | undefined;
}

export type Freshness = z.output<typeof freshnessSchema>;

export interface AnalyticsService {
  /** Adds events to the rollups (idempotent: ids already applied are skipped), in one transaction. */
  apply(events: readonly AnalyticsEvent[]): Promise<ApplyResult>;
  /**
   * Recomputes every rollup from the event history in the outbox, bucketed in
   * `analytics.timezone`. Events a worker applies meanwhile are counted once.
   */
  rebuild(options?: { batchSize?: number; onProgress?: (p: RebuildProgress) => void }): Promise<RebuildResult>;
  freshness(caller?: Caller): Promise<Freshness>;
  sales(query: ReportQueryInput, caller: Caller): Promise<reports.ReportRange & Awaited<ReturnType<typeof reports.salesReport>>>;
  orders(query: ReportQueryInput, caller: Caller): ReturnType<typeof reports.ordersReport>;
  products(query: ReportQueryInput, caller: Caller): ReturnType<typeof reports.productsReport>;
  categories(query: ReportQueryInput, caller: Caller): ReturnType<typeof reports.categoriesReport>;
  users(query: ReportQueryInput, caller: Caller): ReturnType<typeof reports.usersReport>;
  payments(query: ReportQueryInput, caller: Caller): ReturnType<typeof reports.paymentsReport>;
  lowStock(query: ReportQueryInput, caller: Caller): ReturnType<typeof reports.lowStockReport>;
  /** A report's rollup rows as CSV or JSON Lines, streamed a page at a time. The range is checked before anything streams. */
  exportReport(name: (typeof exportableReports)[number], query: ExportQuery, caller: Caller): Promise<StreamedBody>;
}

function reportsError(code: ReportsErrorCode, message: string): PlinthError {
  return new PlinthError(code, message, { status: reportsErrors[code] });
}

/** Milliseconds since the epoch stamped in a UUIDv7. */
function uuidv7Time(id: string): number | undefined {
  const hex = id.replace(/-/g, '').slice(0, 12);
  return /^[0-9a-f]{12}$/i.test(hex) ? parseInt(hex, 16) : undefined;
}

export function createAnalyticsService(kernel: KernelContext): AnalyticsService {
  const metrics: AnalyticsMetrics = analyticsMetricsFor(kernel.metrics, () => lagSeconds());
  const now = () => new Date(kernel.clock.now()).toISOString();

  async function timezone(): Promise<string> {
    return (await storedTimeZone(kernel.db)) ?? kernel.config.analytics.timezone;
  }

  /** Seconds the oldest event not yet in the rollups has waited: undispatched, or waiting as an apply job. */
  async function lagSeconds(): Promise<number> {
    // Two reads so each stays on an index that holds only live jobs (queued: the listing index;
    // running: the lease index), whatever the completed history's size.
    const oldestApply = async (state: 'queued' | 'running') => {
      let query = kernel.storage.db
        .selectFrom(JOBS_TABLE)
        .select((eb) => eb.fn.min<string>('order_seq').as('seq'))
        .where('type', '=', APPLY_JOB)
        .where('state', '=', state);
      if (state === 'running') query = query.where('locked_until', 'is not', null);
      return ((await query.executeTakeFirst()) as { seq: string | null } | undefined)?.seq ?? null;
    };
    const [queued, running] = await Promise.all([oldestApply('queued'), oldestApply('running')]);
    const job = { seq: [queued, running].filter((s): s is string => s !== null).sort()[0] ?? null };
    const event = (await kernel.storage.db
      .selectFrom(OUTBOX_TABLE)
      .select((eb) => eb.fn.min<string>('id').as('id'))
      .where('dispatched_at', 'is', null)
      .where('type', 'in', ANALYTICS_EVENTS)
      .executeTakeFirst()) as { id: string | null } | undefined;
    const times = [job?.seq, event?.id].map((id) => (id ? uuidv7Time(id) : undefined)).filter((t): t is number => t !== undefined);
    if (!times.length) return 0;
    return Math.max(0, (kernel.clock.now() - Math.min(...times)) / 1000);
  }

  async function resolve(query: ReportQueryInput, caller: Caller): Promise<reports.ReportRange> {
    await kernel.authorize(caller.actor, 'reports:read');
    const tz = await timezone();
    const to = query.to ?? bucketsOf(kernel.clock.now(), tz).day;
    const from = query.from ?? addDays(to, -29);
    if (from > to) throw reportsError('reports.invalid_range', `"from" (${from}) is after "to" (${to})`);
    const groupBy = query.groupBy ?? 'day';
    const days = dayNumber(to) - dayNumber(from) + 1;
    const max = groupBy === 'hour' ? MAX_HOURLY_DAYS : MAX_DAYS;
    if (days > max) throw reportsError('reports.range_too_large', `At most ${max} days ${groupBy === 'hour' ? 'by the hour' : 'at once'}; asked for ${days}`);
    return { from, to, groupBy, timezone: tz };
  }

  // The declared payload schemas: an event that does not match its type is refused before anything is written.
  const schemas = new Map(kernel.modules.flatMap((m) => Object.entries(m.events ?? {})));
  function checkEvent(event: AnalyticsEvent): void {
    const known = (ANALYTICS_EVENTS as readonly string[]).includes(event?.type);
    const ok =
      known &&
      typeof event.id === 'string' && event.id.length > 0 && event.id.length <= 64 &&
      typeof event.createdAt === 'string' && !Number.isNaN(Date.parse(event.createdAt)) &&
      schemas.get(event.type)?.safeParse(event.payload).success === true;
    if (!ok) {
      throw new PlinthError('analytics.invalid_event', `Not an analytics event: ${known ? `invalid "${event.type}" event ${String(event.id)}` : `unknown type "${String(event?.type)}"`}`, { status: 422 });
    }
  }

  const limitOf = (q: ReportQueryInput) => Math.min(Math.max(q.limit ?? 10, 1), 100);

  const service: AnalyticsService = {
    async apply(events) {
      for (const event of events) checkEvent(event);
      const result = await kernel.transaction((tx) => applyEvents(tx.db, events, { defaultTimeZone: kernel.config.analytics.timezone, now: now() }));
      if (result.applied) {
        const at = kernel.clock.now();
        for (const e of events) metrics.lag((at - Date.parse(e.createdAt)) / 1000);
      }
      metrics.applied(result.applied, result.duplicates);
      return result;
    },

    async rebuild(options = {}) {
      const started = performance.now();
      const batchSize = Math.min(Math.max(options.batchSize ?? 1000, 1), 10_000);
      const tz = kernel.config.analytics.timezone;
      const total = Number(
        ((await kernel.db.selectFrom(OUTBOX_TABLE).select((eb) => eb.fn.countAll().as('n')).where('type', 'in', ANALYTICS_EVENTS).executeTakeFirst()) as { n: unknown }).n,
      );
      // One transaction empties everything and the watermark with it: from here on each event is counted once, by whoever gets to it first.
      await kernel.transaction(async (tx) => {
        await tx.db.deleteFrom(ROLLUPS_TABLE).execute();
        await tx.db.deleteFrom(ACTIVE_USERS_TABLE).execute();
        await tx.db.deleteFrom(APPLIED_TABLE).execute();
        await setStoredTimeZone(tx.db, tz, now());
      });
      let read = 0;
      let applied = 0;
      let cursor: string | undefined;
      options.onProgress?.({ events: 0, total });
      for (;;) {
        let q = kernel.db.selectFrom(OUTBOX_TABLE).select(['id', 'type', 'payload', 'created_at']).where('type', 'in', ANALYTICS_EVENTS);
        if (cursor) q = q.where('id', '>', cursor);
        const rows = (await q.orderBy('id').limit(batchSize).execute()) as { id: string; type: string; payload: unknown; created_at: unknown }[];
        if (!rows.length) break;
        const events = rows.map((r) => ({ id: r.id, type: r.type, payload: kernel.storage.fromJson(r.payload), createdAt: new Date(r.created_at as string).toISOString() }));
        const result = await kernel.transaction((tx) => applyEvents(tx.db, events, { defaultTimeZone: tz, now: now() }));
        applied += result.applied;
        read += rows.length;
        cursor = rows[rows.length - 1]!.id;
        options.onProgress?.({ events: read, total: Math.max(total, read) });
        if (rows.length < batchSize) break;
      }
      return { events: read, applied, seconds: (performance.now() - started) / 1000, timezone: tz };
    },

    async freshness(caller) {
      if (caller) await kernel.authorize(caller.actor, 'reports:read');
      const stored = await storedTimeZone(kernel.db);
      const configured = kernel.config.analytics.timezone;
      const row = (await kernel.db
        .selectFrom(APPLIED_TABLE)
        .select([(eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.max('applied_at').as('last')])
        .executeTakeFirst()) as { n: unknown; last: unknown } | undefined;
      return {
        timezone: stored ?? configured,
        configuredTimezone: configured,
        rebuildRequired: stored !== undefined && stored !== configured,
        lagSeconds: Math.round((await lagSeconds()) * 1000) / 1000,
        appliedEvents: Number(row?.n ?? 0),
        lastAppliedAt: row?.last ? new Date(row.last as string).toISOString() : null,
      };
    },

    async sales(query, caller) {
      return reports.salesReport(kernel.db, await resolve(query, caller), query.currency);
    },
    async orders(query, caller) {
      return reports.ordersReport(kernel.db, await resolve(query, caller));
    },
    async products(query, caller) {
      return reports.productsReport(kernel.db, await resolve(query, caller), limitOf(query), query.currency);
    },
    async categories(query, caller) {
      return reports.categoriesReport(kernel.db, await resolve(query, caller), limitOf(query));
    },
    async users(query, caller) {
      return reports.usersReport(kernel.db, await resolve(query, caller));
    },
    async payments(query, caller) {
      return reports.paymentsReport(kernel.db, await resolve(query, caller));
    },
    async lowStock(query, caller) {
      return reports.lowStockReport(kernel.db, await resolve(query, caller), limitOf(query));
    },

    async exportReport(name, query, caller) {
      const metricsOf = EXPORT_METRICS[name];
      if (!metricsOf) throw new PlinthError('validation.failed', `No report "${String(name)}"`, { status: 422 });
      const grain = query.grain ?? 'day';
      const range = await resolve({ from: query.from, to: query.to, groupBy: grain }, caller);
      const format = query.format ?? 'csv';
      return {
        contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8',
        filename: `${name}-${range.from}-${range.to}.${format}`,
        chunks: formatRows(rollupRows(kernel.storage.db, grain, metricsOf, range.from, range.to), format),
      };
    },
  };
  return service;
}
