import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BucketCheck, BucketOutcome } from './gcra.js';
import type { RateLimitStore } from './store.js';

/**
 * GCRA in one atomic script, timed by the Redis server's clock (so processes
 * with skewed clocks share one notion of now). One call runs the checks of
 * every request that asked since the last call, one request after the other,
 * each request all-or-nothing over its buckets (nothing is charged unless
 * every bucket of that request allows it), exactly as if each request had
 * made its own call at that instant.
 *
 * KEYS: the distinct bucket keys of the call. ARGV: the number of slots (a key
 * with its rate: many requests of one call usually share a few), then key
 * index (1-based), limit and period (ms) per slot, then per request its number
 * of buckets and the slot index (1-based) of each. Returns a flat array of two
 * integers per bucket of every request, in order: `remaining` (≥ 0) when the
 * bucket allows the request or `-retryAfterMs` (≤ -1) when it does not, then
 * `resetMs`. TATs are read once per key and call, stored with three decimals
 * (sub-ms intervals of high limits stay exact) and expire when the bucket is
 * full again.
 */
export const GCRA_SCRIPT = `
local tonumber, floor, ceil = tonumber, math.floor, math.ceil
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
local nslots = tonumber(ARGV[1])
local skey = {}
local speriod = {}
local sinterval = {}
local a = 2
for s = 1, nslots do
  skey[s] = KEYS[tonumber(ARGV[a])]
  local limit = tonumber(ARGV[a + 1])
  local period = tonumber(ARGV[a + 2])
  speriod[s] = period
  sinterval[s] = period / limit
  a = a + 3
end
local tats = {}
local changed = {}
local out = {}
local o = 0
local nargs = #ARGV
local pkey = {}
local ptat = {}
while a <= nargs do
  local n = tonumber(ARGV[a])
  a = a + 1
  local ok = true
  for i = 1, n do
    local s = tonumber(ARGV[a + i - 1])
    local key = skey[s]
    local period = speriod[s]
    local interval = sinterval[s]
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
      out[o + 1] = -ceil(allowAt - now)
      out[o + 2] = ceil(tat - now)
    else
      local remaining = floor((period - (newTat - now)) / interval + 1e-9)
      if remaining < 0 then remaining = 0 end
      out[o + 1] = remaining
      out[o + 2] = ceil(newTat - now)
    end
    pkey[i] = key
    ptat[i] = newTat
    o = o + 2
  end
  if ok then
    for i = 1, n do
      tats[pkey[i]] = ptat[i]
      changed[pkey[i]] = true
    end
  end
  a = a + n
end
for key in pairs(changed) do
  local tat = tats[key]
  redis.call('SET', key, string.format('%.3f', tat), 'PX', math.max(1, ceil(tat - now)))
end
return out
`;

const SHA = createHash('sha1').update(GCRA_SCRIPT).digest('hex');

/** Requests per script call at most; a flush of more sends several calls at once. */
const MAX_BATCH = 256;

/** A key with one rate, as the script numbers them. */
interface Slot {
  index: number;
  keyIndex: number;
  limit: number;
  periodMs: number;
  /** The same key with another rate (rare: one key, one rate in a limiter). */
  next: Slot | undefined;
}

interface Pending {
  buckets: readonly BucketCheck[];
  resolve: (outcomes: BucketOutcome[]) => void;
  reject: (error: unknown) => void;
}

export interface RedisRateLimitStoreOptions {
  /** `close()` quits the client too (the limiter's own connection). */
  ownsClient?: boolean;
  /**
   * Script calls awaiting their reply at once, at least 1; default 1 (a flush of more than
   * {@link MAX_BATCH} requests sends its calls together all the same). While that many are out,
   * new checks wait in the queue and go out together when one answers: under load each call carries every check that arrived during the previous
   * round trip instead of one event-loop turn's, so the round trips per request (the server's
   * write and read, the client's command, Redis's script call) fall as the load grows. Idle or
   * light load changes nothing: a lone check still goes out at the end of its turn.
   */
  maxInFlight?: number;
}

/**
 * Rate-limit buckets in Redis. The checks made in one event-loop turn (the
 * requests a busy server parsed from one poll of its sockets) go out as one
 * `EVALSHA` at the end of that turn: one command, one write and one reply
 * instead of one each per request, for the server and for Redis. While a call
 * is out (`maxInFlight`), new checks queue and go out together when it answers
 * (group commit): the answer of every check still comes from the one atomic
 * script on the shared Redis, in the order asked, so limits stay exact across
 * processes; a check waits at most for the call ahead of it and its own, and
 * fails with the call ahead of it when that one fails (Redis down or timed out).
 * Falls back to `EVAL` when the server has not cached the script (first use,
 * restart, `SCRIPT FLUSH`), which also caches it again. Give it a client that
 * fails fast while disconnected (`enableOfflineQueue: false`, a
 * `commandTimeout`): the limiter then applies its `whenStoreDown` policy
 * instead of queueing.
 */
export function createRedisRateLimitStore(redis: Redis, options: RedisRateLimitStoreOptions = {}): RateLimitStore {
  const maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 1));
  let queue: Pending[] = [];
  let scheduled = false;
  let inFlight = 0;

  function schedule(): void {
    if (scheduled || inFlight >= maxInFlight || queue.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    const pending = queue;
    queue = [];
    if (pending.length === 0) return;
    if (pending.length <= MAX_BATCH) void send(pending);
    else for (let i = 0; i < pending.length; i += MAX_BATCH) void send(pending.slice(i, i + MAX_BATCH));
  }

  /** One script call for `batch`; settles every check of it, never rejects. */
  async function send(batch: readonly Pending[]): Promise<void> {
    inFlight++;
    // One slot per distinct (key, rate): the requests of one caller share it.
    const keys: string[] = [];
    const slots: string[] = ['0'];
    const requests: string[] = [];
    const slotOf = new Map<string, Slot>();
    let buckets = 0;
    for (const { buckets: bs } of batch) {
      requests.push(String(bs.length));
      buckets += bs.length;
      for (const b of bs) {
        let slot = slotOf.get(b.key);
        while (slot && (slot.limit !== b.rate.limit || slot.periodMs !== b.rate.periodMs)) slot = slot.next;
        if (!slot) {
          const first = slotOf.get(b.key);
          const keyIndex = first ? first.keyIndex : keys.push(b.key);
          slot = { index: (slots.length - 1) / 3 + 1, keyIndex, limit: b.rate.limit, periodMs: b.rate.periodMs, next: first?.next };
          if (first) first.next = slot;
          else slotOf.set(b.key, slot);
          slots.push(String(keyIndex), String(b.rate.limit), String(b.rate.periodMs));
        }
        requests.push(String(slot.index));
      }
    }
    slots[0] = String((slots.length - 1) / 3);
    const args = keys.concat(slots, requests);
    let raw: unknown;
    let failed = false;
    let failure: unknown;
    try {
      try {
        raw = await redis.evalsha(SHA, keys.length, args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        raw = await redis.eval(GCRA_SCRIPT, keys.length, args);
      }
      if (!Array.isArray(raw) || raw.length !== buckets * 2) throw new Error('The rate-limit script answered in an unexpected shape');
    } catch (error) {
      failed = true;
      failure = error;
    }
    inFlight--;
    if (failed || !Array.isArray(raw)) {
      // The checks queued behind this call fail with it: none waits longer than one
      // `commandTimeout` for a Redis that does not answer, as without the queue.
      const behind = queue;
      queue = [];
      for (const p of batch) p.reject(failure);
      for (const p of behind) p.reject(failure);
      return;
    }
    schedule(); // the checks that queued meanwhile go out at the end of this turn
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
        schedule();
      });
    },
    async close() {
      if (!options.ownsClient) return;
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
