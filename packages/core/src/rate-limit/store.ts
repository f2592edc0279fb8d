import type { BucketCheck, BucketOutcome } from './gcra.js';

/**
 * Where rate-limit state lives. One call checks every bucket of a request at
 * once: either every bucket takes the request, or none is charged.
 */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** Outcomes in the order of `buckets`; rejects when the store cannot answer. */
  check(buckets: readonly BucketCheck[]): Promise<BucketOutcome[]>;
  /**
   * The same check answered synchronously when the store can (the memory store always; the
   * Redis store when this process holds leased requests of every bucket), else `undefined`
   * and nothing is charged.
   */
  checkNow?(buckets: readonly BucketCheck[]): BucketOutcome[] | undefined;
  close(): Promise<void>;
}
