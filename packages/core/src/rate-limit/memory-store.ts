import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { type BucketCheck, type BucketOutcome, gcraStep } from './gcra.js';
import type { RateLimitStore } from './store.js';

/**
 * One process's buckets in a bounded LRU map (`maxKeys`). A bucket past its
 * TAT is the same as no bucket, so stale entries cost memory, never
 * correctness; when the map is full the least recently seen caller's bucket is
 * dropped (it starts full again).
 */
export function createMemoryRateLimitStore(options: { clock: Clock; maxKeys: number }): RateLimitStore {
  const tats = new LRUCache<string, number>({ max: options.maxKeys });
  function checkNow(buckets: readonly BucketCheck[]): BucketOutcome[] {
    const now = options.clock.now();
    const steps = buckets.map((b) => gcraStep(tats.get(b.key), b.rate, now));
    if (steps.every((s) => s.outcome.allowed)) {
      steps.forEach((s, i) => tats.set(buckets[i]!.key, s.newTat));
    }
    return steps.map((s) => s.outcome);
  }
  return {
    kind: 'memory',
    async check(buckets: readonly BucketCheck[]): Promise<BucketOutcome[]> {
      return checkNow(buckets);
    },
    checkNow,
    async close() {
      tats.clear();
    },
  };
}
