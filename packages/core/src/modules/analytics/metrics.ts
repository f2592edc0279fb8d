import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AnalyticsMetrics {
  /** Seconds from an event's commit to its rollup. */
  lag(seconds: number): void;
  applied(applied: number, duplicates: number): void;
}

const byRegistry = new WeakMap<Registry, AnalyticsMetrics>();

/**
 * The analytics metrics of an instance's registry: the freshness gauge (read
 * at scrape time from the outbox and the job queue), the commit→rollup lag of
 * each applied event, and applied/duplicate counts.
 */
export function analyticsMetricsFor(registry: Registry, lagSeconds: () => Promise<number>): AnalyticsMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  new Gauge({
    name: 'plinth_analytics_freshness_lag_seconds',
    help: 'Seconds the oldest committed event not yet in the analytics rollups has waited (0: up to date). Target: under 60 with a worker running.',
    registers: [registry],
    async collect() {
      try {
        this.set(await lagSeconds());
      } catch {
        // Before migrations there is nothing to measure.
      }
    },
  });
  const lag = new Histogram({
    name: 'plinth_analytics_lag_seconds',
    help: 'Seconds from an event being written (its transaction) to its rollup being committed.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const events = new Counter({
    name: 'plinth_analytics_events_total',
    help: 'Events offered to the rollups, by outcome: applied, or duplicate (already counted, skipped).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const metrics: AnalyticsMetrics = {
    lag: (seconds) => lag.observe(Math.max(0, seconds)),
    applied(applied, duplicates) {
      if (applied) events.inc({ outcome: 'applied' }, applied);
      if (duplicates) events.inc({ outcome: 'duplicate' }, duplicates);
    },
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
