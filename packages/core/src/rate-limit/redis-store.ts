import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BucketCheck, BucketOutcome } from './gcra.js';
import type { RateLimitStore } from './store.js';

/**
 * GCRA over every bucket of a request in one atomic script, timed by the Redis
 * server's clock (so processes with skewed clocks share one notion of now).
 * KEYS: the buckets; ARGV: limit and period (ms) per bucket. Returns, per
 * bucket, `allowed, remaining, resetMs, retryAfterMs`. Nothing is charged
 * unless every bucket allows the request. TATs are stored with three decimals
 * (sub-ms intervals of high limits stay exact) and expire when the bucket is full.
 */
export const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local out = {}
local tats = {}
local ok = true
for i = 1, n do
  local limit = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local interval = period / limit
  local tat = tonumber(redis.call('GET', KEYS[i]) or '') or now
  if tat < now then tat = now end
  local newTat = tat + interval
  local allowAt = newTat - period
  if allowAt > now then
    ok = false
    out[i] = {0, 0, math.ceil(tat - now), math.ceil(allowAt - now)}
  else
    local remaining = math.floor((period - (newTat - now)) / interval + 1e-9)
    if remaining < 0 then remaining = 0 end
    out[i] = {1, remaining, math.ceil(newTat - now), 0}
    tats[i] = newTat
  end
end
if ok then
  for i = 1, n do
    redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.max(1, math.ceil(tats[i] - now)))
  end
end
return out
`;

const SHA = createHash('sha1').update(GCRA_SCRIPT).digest('hex');

/**
 * Rate-limit buckets in Redis: one `EVALSHA` per request, falling back to
 * `EVAL` when the server has not cached the script (first use, restart,
 * `SCRIPT FLUSH`), which also caches it again. Give it a client that fails
 * fast while disconnected (`enableOfflineQueue: false`, a `commandTimeout`):
 * the limiter then applies its `whenStoreDown` policy instead of queueing.
 */
export function createRedisRateLimitStore(redis: Redis, options: { ownsClient?: boolean } = {}): RateLimitStore {
  return {
    kind: 'redis',
    async check(buckets: readonly BucketCheck[]): Promise<BucketOutcome[]> {
      const keys = buckets.map((b) => b.key);
      const args = buckets.flatMap((b) => [b.rate.limit, b.rate.periodMs]);
      let raw: unknown;
      try {
        raw = await redis.evalsha(SHA, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        raw = await redis.eval(GCRA_SCRIPT, keys.length, ...keys, ...args);
      }
      if (!Array.isArray(raw) || raw.length !== buckets.length) throw new Error('The rate-limit script answered in an unexpected shape');
      return raw.map((row: unknown) => {
        const [allowed, remaining, resetMs, retryAfterMs] = (row as number[]).map(Number) as [number, number, number, number];
        return { allowed: allowed === 1, remaining, resetMs, retryAfterMs };
      });
    },
    async close() {
      if (!options.ownsClient) return;
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
