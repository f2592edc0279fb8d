import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BucketCheck, BucketOutcome } from './gcra.js';
import type { RateLimitStore } from './store.js';

/**
 * GCRA in one atomic script, timed by the Redis server's clock (so processes
 * with skewed clocks share one notion of now). One call runs the checks of
 * every request that asked in the same event-loop turn, one request after the
 * other, each request all-or-nothing over its buckets (nothing is charged
 * unless every bucket of that request allows it), exactly as if each request
 * had made its own call at that instant.
 *
 * KEYS: the buckets of every request, in order. ARGV: per request, its number
 * of buckets, then limit and period (ms) per bucket. Returns a flat array of
 * two integers per bucket: `remaining` (≥ 0) when the bucket allows the
 * request or `-retryAfterMs` (≤ -1) when it does not, then `resetMs`. TATs are
 * read once per key and call, stored with three decimals (sub-ms intervals of
 * high limits stay exact) and expire when the bucket is full again.
 */
export const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tats = {}
local changed = {}
local out = {}
local o = 0
local k = 0
local a = 1
local nargs = #ARGV
while a <= nargs do
  local n = tonumber(ARGV[a])
  a = a + 1
  local ok = true
  local pend = {}
  for i = 1, n do
    local key = KEYS[k + i]
    local limit = tonumber(ARGV[a])
    local period = tonumber(ARGV[a + 1])
    a = a + 2
    local interval = period / limit
    local tat = tats[key]
    if tat == nil then
      tat = tonumber(redis.call('GET', key) or '') or now
      tats[key] = tat
    end
    if tat < now then tat = now end
    local newTat = tat + interval
    local allowAt = newTat - period
    if allowAt > now then
      ok = false
      out[o + 1] = -math.ceil(allowAt - now)
      out[o + 2] = math.ceil(tat - now)
    else
      local remaining = math.floor((period - (newTat - now)) / interval + 1e-9)
      if remaining < 0 then remaining = 0 end
      out[o + 1] = remaining
      out[o + 2] = math.ceil(newTat - now)
      pend[i] = newTat
    end
    o = o + 2
  end
  if ok then
    for i = 1, n do
      local key = KEYS[k + i]
      tats[key] = pend[i]
      changed[key] = true
    end
  end
  k = k + n
end
for key in pairs(changed) do
  local tat = tats[key]
  redis.call('SET', key, string.format('%.3f', tat), 'PX', math.max(1, math.ceil(tat - now)))
end
return out
`;

const SHA = createHash('sha1').update(GCRA_SCRIPT).digest('hex');

/** Requests per script call at most; more in one turn make more calls. */
const MAX_BATCH = 256;

interface Pending {
  buckets: readonly BucketCheck[];
  resolve: (outcomes: BucketOutcome[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Rate-limit buckets in Redis. The checks made in one event-loop turn (the
 * requests a busy server parsed from one poll of its sockets) go out as one
 * `EVALSHA` at the end of that turn: one command, one write and one reply
 * instead of one each per request, for the server and for Redis. Falls back
 * to `EVAL` when the server has not cached the script (first use, restart,
 * `SCRIPT FLUSH`), which also caches it again. Give it a client that fails
 * fast while disconnected (`enableOfflineQueue: false`, a `commandTimeout`):
 * the limiter then applies its `whenStoreDown` policy instead of queueing.
 */
export function createRedisRateLimitStore(redis: Redis, options: { ownsClient?: boolean } = {}): RateLimitStore {
  let queue: Pending[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const pending = queue;
    queue = [];
    for (let i = 0; i < pending.length; i += MAX_BATCH) void send(i === 0 && pending.length <= MAX_BATCH ? pending : pending.slice(i, i + MAX_BATCH));
  }

  async function send(batch: readonly Pending[]): Promise<void> {
    const keys: string[] = [];
    const argv: (string | number)[] = [];
    for (const { buckets } of batch) {
      argv.push(buckets.length);
      for (const b of buckets) {
        keys.push(b.key);
        argv.push(b.rate.limit, b.rate.periodMs);
      }
    }
    let raw: unknown;
    try {
      try {
        raw = await redis.evalsha(SHA, keys.length, ...keys, ...argv);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        raw = await redis.eval(GCRA_SCRIPT, keys.length, ...keys, ...argv);
      }
      if (!Array.isArray(raw) || raw.length !== keys.length * 2) throw new Error('The rate-limit script answered in an unexpected shape');
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    let at = 0;
    for (const p of batch) {
      const outcomes: BucketOutcome[] = new Array(p.buckets.length);
      for (let i = 0; i < outcomes.length; i++, at += 2) {
        const first = Number(raw[at]);
        const resetMs = Number(raw[at + 1]);
        outcomes[i] = first < 0 ? { allowed: false, remaining: 0, resetMs, retryAfterMs: -first } : { allowed: true, remaining: first, resetMs, retryAfterMs: 0 };
      }
      p.resolve(outcomes);
    }
  }

  return {
    kind: 'redis',
    check(buckets: readonly BucketCheck[]): Promise<BucketOutcome[]> {
      return new Promise((resolve, reject) => {
        queue.push({ buckets, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    async close() {
      if (!options.ownsClient) return;
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
