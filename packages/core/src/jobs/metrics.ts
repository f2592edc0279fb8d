import { sql } from 'kysely';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Storage } from '../storage/storage.js';
import { OUTBOX_TABLE } from '../outbox/outbox.js';
import { JOBS_TABLE } from './migrations.js';

/** Seconds from an ISO time (or a driver's Date) to now; 0 for nothing. */
function ageSeconds(value: unknown, now: number): number {
  if (value === null || value === undefined) return 0;
  const at = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isFinite(at) ? Math.max(0, (now - at) / 1000) : 0;
}

export interface JobMetrics {
  /** Finished attempts by type and outcome (`completed`, `retry`, `dead`). */
  processed(type: string, outcome: 'completed' | 'retry' | 'dead'): void;
  /** Seconds from a job being due to being claimed. */
  claimLatency(queue: string, seconds: number): void;
  /** Seconds a handler ran. */
  duration(type: string, seconds: number): void;
}

const byRegistry = new WeakMap<Registry, JobMetrics>();

/**
 * The job metrics of a Plinth instance's registry, created once: counts of
 * jobs by state (read from the database at scrape time), processed and failed
 * attempts, claim latency and run time.
 */
export function jobMetricsFor(registry: Registry, storage: Storage): JobMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  new Gauge({
    name: 'plinth_jobs',
    help: 'Jobs by state and queue (completed ones are counted by plinth_jobs_processed_total).',
    labelNames: ['state', 'queue'],
    registers: [registry],
    async collect() {
      try {
        // One branch per state, so each reads its partial index (runnable, leased, listed-state) rather than the table.
        const count = (state: 'queued' | 'running' | 'dead') =>
          storage.db
            .selectFrom(JOBS_TABLE)
            .select([sql.lit(state).as('state'), 'queue', (eb) => eb.fn.countAll().as('n')])
            .where('state', '=', sql.lit(state))
            .$if(state === 'running', (q) => q.where('locked_until', 'is not', null))
            .groupBy('queue');
        const rows = await count('queued').unionAll(count('running')).unionAll(count('dead')).execute();
        this.reset();
        for (const row of rows) this.set({ state: String(row.state), queue: String(row.queue) }, Number(row.n));
      } catch {
        // Before migrations (no table yet) there is nothing to count.
      }
    },
  });
  new Gauge({
    name: 'plinth_jobs_oldest_due_age_seconds',
    help: 'Per queue: how long the oldest queued job has been due and not yet claimed (0: none waiting).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      try {
        const now = Date.now();
        const rows = await storage.db
          .selectFrom(JOBS_TABLE)
          .select(['queue', (eb) => eb.fn.min('run_at').as('oldest')])
          .where('state', '=', 'queued')
          .where('run_at', '<=', new Date(now).toISOString())
          .groupBy('queue')
          .execute();
        this.reset();
        for (const row of rows) this.set({ queue: String(row.queue) }, ageSeconds(row.oldest, now));
      } catch {
        // Before migrations there is nothing to measure.
      }
    },
  });
  new Gauge({
    name: 'plinth_outbox_pending',
    help: 'Outbox events committed but not yet dispatched to their handlers.',
    registers: [registry],
    async collect() {
      try {
        const row = await storage.db.selectFrom(OUTBOX_TABLE).select((eb) => eb.fn.countAll().as('n')).where('dispatched_at', 'is', null).executeTakeFirst();
        this.set(Number(row?.n ?? 0));
      } catch {
        // Before migrations there is nothing to count.
      }
    },
  });
  new Gauge({
    name: 'plinth_outbox_lag_seconds',
    help: 'Age of the oldest outbox event not yet dispatched (0: none waiting).',
    registers: [registry],
    async collect() {
      try {
        // Ids are time-ordered: the smallest undispatched id is the oldest (the partial index serves it).
        const row = await storage.db
          .selectFrom(OUTBOX_TABLE)
          .select('created_at')
          .where('dispatched_at', 'is', null)
          .orderBy('id')
          .limit(1)
          .executeTakeFirst();
        this.set(ageSeconds(row?.created_at, Date.now()));
      } catch {
        // Before migrations there is nothing to measure.
      }
    },
  });
  const processed = new Counter({
    name: 'plinth_jobs_processed_total',
    help: 'Finished job attempts by type and outcome: completed, retry (failed, will run again), dead (failed for good).',
    labelNames: ['type', 'outcome'],
    registers: [registry],
  });
  const failed = new Counter({ name: 'plinth_jobs_failed_total', help: 'Failed job attempts by type (retry or dead).', labelNames: ['type'], registers: [registry] });
  const latency = new Histogram({
    name: 'plinth_jobs_claim_latency_seconds',
    help: 'Time from a job being due to a worker claiming it.',
    labelNames: ['queue'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'plinth_jobs_duration_seconds',
    help: 'How long job handlers ran.',
    labelNames: ['type'],
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [registry],
  });
  // Label lookups cost more than the increments: keep one child per label set.
  const cache = new Map<string, { inc(value?: number): void } & { observe?(value: number): void }>();
  const child = <T>(key: string, make: () => T): T => {
    let found = cache.get(key) as T | undefined;
    if (!found) cache.set(key, (found = make()) as never);
    return found;
  };
  const metrics: JobMetrics = {
    processed(type, outcome) {
      child(`p|${type}|${outcome}`, () => processed.labels(type, outcome)).inc();
      if (outcome !== 'completed') child(`f|${type}`, () => failed.labels(type)).inc();
    },
    claimLatency(queue, seconds) {
      child(`l|${queue}`, () => latency.labels(queue)).observe(Math.max(0, seconds));
    },
    duration(type, seconds) {
      child(`d|${type}`, () => duration.labels(type)).observe(seconds);
    },
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
