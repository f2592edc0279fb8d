export { createRateLimiter, rateLimitExceeded, DEFAULT_ROUTE_LIMITS } from './limiter.js';
export type { RateLimiter, RateLimitRequest, RateLimitDecision, RateLimitHeaders, RateLimiterOptions } from './limiter.js';
export { createMemoryRateLimitStore } from './memory-store.js';
export { createRedisRateLimitStore, GCRA_SCRIPT } from './redis-store.js';
export type { RedisRateLimitStoreOptions } from './redis-store.js';
export type { RateLimitStore } from './store.js';
export type { Rate, BucketCheck, BucketOutcome } from './gcra.js';
