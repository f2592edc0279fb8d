import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Storage } from '../storage/storage.js';
import { OUTBOX_TABLE } from './outbox.js';

/**
 * Outbox lag, read from the database when scraped: how many committed events
 * no dispatcher has turned into jobs yet, and how old the oldest one is. A
 * growing lag means no worker is dispatching (or it cannot keep up).
 */
export function outboxMetricsFor(registry: Registry, storage: Storage, clock: Clock): void {
  if (registry.getSingleMetric('plinth_outbox_lag_seconds')) return;
  let pending = 0;
  let lag = 0;
  const read = async () => {
    try {
      const row = (await storage.db
        .selectFrom(OUTBOX_TABLE)
        .select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('created_at').as('oldest')])
        .where('dispatched_at', 'is', null)
        .executeTakeFirst()) as { n: unknown; oldest: unknown } | undefined;
      pending = Number(row?.n ?? 0);
      const oldest = row?.oldest ? Date.parse(String(row.oldest instanceof Date ? row.oldest.toISOString() : row.oldest)) : Number.NaN;
      lag = Number.isFinite(oldest) ? Math.max(0, (clock.now() - oldest) / 1000) : 0;
    } catch {
      // Before migrations (no table yet) there is nothing to measure.
    }
  };
  // One query per scrape for both gauges (a registry collects its metrics concurrently).
  let inflight: Promise<void> | undefined;
  const refresh = () => (inflight ??= read().finally(() => (inflight = undefined)));
  new Gauge({
    name: 'plinth_outbox_pending',
    help: 'Committed outbox events not yet dispatched to jobs.',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(pending);
    },
  });
  new Gauge({
    name: 'plinth_outbox_lag_seconds',
    help: 'Age of the oldest undispatched outbox event (0 when none).',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(lag);
    },
  });
}
