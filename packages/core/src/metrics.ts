import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Storage } from './storage/storage.js';

export type { Registry } from 'prom-client';

/**
 * A registry per Plinth instance (never prom-client's global one, so two
 * instances in one process do not collide), with process metrics and the
 * database pool gauges.
 */
export function createMetricsRegistry(storage: Storage): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'plinth_' });
  new Gauge({
    name: 'plinth_db_pool_connections',
    help: 'Database connections by state (total, idle, waiting callers).',
    labelNames: ['state', 'dialect'],
    registers: [registry],
    collect() {
      const stats = storage.poolStats();
      this.set({ state: 'total', dialect: storage.dialect }, stats.total);
      this.set({ state: 'idle', dialect: storage.dialect }, stats.idle);
      this.set({ state: 'waiting', dialect: storage.dialect }, stats.waiting);
    },
  });
  if (storage.groupCommitStats) {
    new Gauge({
      name: 'plinth_db_group_commit_total',
      help: 'SQLite group commit: writers that waited for the disk (flushes), the WAL syncs that served them (syncs), transactions (transactions) and the SQLite commits that carried them (commits).',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const stats = storage.groupCommitStats?.();
        if (!stats) return;
        this.set({ kind: 'flushes' }, stats.flushes);
        this.set({ kind: 'syncs' }, stats.syncs);
        const batches = storage.transactionBatchStats?.();
        if (batches) {
          this.set({ kind: 'transactions' }, batches.transactions);
          this.set({ kind: 'commits' }, batches.commits);
        }
      },
    });
  }
  return registry;
}
