import type { BucketCheck, BucketOutcome } from './gcra.js';

/**
 * Where rate-limit state lives. One call checks every bucket of a request at
 * once: either every bucket takes the request, or none is charged.
 */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** Outcomes in the order of `buckets`; rejects when the store cannot answer. */
  check(buckets: readonly BucketCheck[]): Promise<BucketOutcome[]>;
  close(): Promise<void>;
}
