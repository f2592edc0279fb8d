import { Counter, Gauge, type Registry } from 'prom-client';
import type { CacheStats } from './read-cache.js';

/** `plinth_cache_requests_total{layer,result}` and `plinth_cache_hit_ratio`, read from the cache's counts when scraped. */
export function cacheMetricsFor(registry: Registry, stats: CacheStats): void {
  if (registry.getSingleMetric('plinth_cache_requests_total')) return;
  new Counter({
    name: 'plinth_cache_requests_total',
    help: 'Read-cache lookups by the layer that answered (memory, redis) or miss (database).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'memory_hit' }, stats.memoryHits);
      this.inc({ result: 'redis_hit' }, stats.sharedHits);
      this.inc({ result: 'miss' }, stats.misses);
    },
  });
  new Gauge({
    name: 'plinth_cache_hit_ratio',
    help: 'Share of read-cache lookups answered from memory or Redis since the process started.',
    registers: [registry],
    collect() {
      const total = stats.memoryHits + stats.sharedHits + stats.misses;
      this.set(total === 0 ? 0 : (stats.memoryHits + stats.sharedHits) / total);
    },
  });
}
