import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
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
 * of buckets and, per bucket, the slot index (1-based) and how many requests
 * it asks for (`want` ≥ 1: one, plus a lease). A bucket that allows one request
 * grants up to `want` (as many as it allows right now). Returns a flat array of
 * three integers per bucket of every request, in order: `remaining` (≥ 0) when
 * the bucket allows the request or `-retryAfterMs` (≤ -1) when it does not,
 * `resetMs`, and the requests granted (0 when the request is refused). TATs are
 * read once per key and call, stored with three decimals (sub-ms intervals of
 * high limits stay exact) and expire when the bucket is full again.
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
    local s = tonumber(ARGV[a + 2 * i - 2])
    local want = tonumber(ARGV[a + 2 * i - 1])
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
      out[o + 3] = 0
    else
      local granted = 1
      if want > 1 then
        granted = floor((period - (tat - now)) / interval + 1e-9)
        if granted > want then granted = want end
        if granted < 1 then granted = 1 end
        newTat = tat + interval * granted
      end
      local remaining = floor((period - (newTat - now)) / interval + 1e-9)
      if remaining < 0 then remaining = 0 end
      out[o + 1] = remaining
      out[o + 2] = ceil(newTat - now)
      out[o + 3] = granted
    end
    pkey[i] = key
    ptat[i] = newTat
    o = o + 3
  end
  if ok then
    for i = 1, n do
      tats[pkey[i]] = ptat[i]
      changed[pkey[i]] = true
    end
  else
    for i = 1, n do out[o - 3 * (n - i)] = 0 end
  end
  a = a + 2 * n
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
  /** The buckets sent to Redis (those the request could not take from a lease of this process). */
  buckets: readonly BucketCheck[];
  /** Requests asked of each bucket: 1, plus the lease wanted. */
  wants: readonly number[];
  resolve: (answers: Answer[]) => void;
  reject: (error: unknown) => void;
}

/** A bucket's outcome from Redis, with the requests it granted (the one asked for, plus a lease). */
interface Answer {
  outcome: BucketOutcome;
  granted: number;
}

/**
 * Requests of one bucket this process took from Redis ahead of time and spends
 * locally. They were charged when taken (Redis's TAT already counts them), so
 * spending one never admits more than the limit; one left unspent when the
 * lease ends is a request the caller may not make elsewhere until it refills.
 */
interface Lease {
  /** Requests left to spend locally. */
  tokens: number;
  /** When unspent tokens lapse (performance.now() ms). */
  expiresAt: number;
  /** Extra requests to ask for with the next call (grows while leases are spent, shrinks when they lapse). */
  want: number;
  /** Whether a call for this bucket asks for a lease right now (one at a time). */
  asking: boolean;
  /** Redis's answer when the lease was taken: what remained there, and when the bucket is full again. */
  remaining: number;
  resetAt: number;
}

/** How long leased requests stay spendable, in ms. */
const LEASE_MS = 1000;
/** Buckets whose leases are tracked at once (least recently used dropped first). */
const LEASE_KEYS = 10_000;

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
  /**
   * Fraction of a bucket's limit this process may take from Redis in one call and spend
   * locally for up to a second (0 to 0.5; default 0: every check is a script call). The
   * limit still holds across processes: leased requests are charged in Redis when taken.
   * A caller spread over several processes may be refused up to `leaseFraction × limit`
   * requests early per process, while a lease it no longer uses lapses. Leases grow only
   * for buckets a process sees often (they start at 0 and double while they are used up
   * within their second), so rarely-seen buckets stay exact per check.
   */
  leaseFraction?: number;
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
    for (const { buckets: bs, wants } of batch) {
      requests.push(String(bs.length));
      buckets += bs.length;
      for (let j = 0; j < bs.length; j++) {
        const b = bs[j]!;
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
        requests.push(String(slot.index), String(wants[j]));
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
      if (!Array.isArray(raw) || raw.length !== buckets * 3) throw new Error('The rate-limit script answered in an unexpected shape');
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
      const answers: Answer[] = new Array(p.buckets.length);
      for (let i = 0; i < answers.length; i++, at += 3) {
        const first = Number(raw[at]);
        const resetMs = Number(raw[at + 1]);
        const outcome = first < 0 ? { allowed: false, remaining: 0, resetMs, retryAfterMs: -first } : { allowed: true, remaining: first, resetMs, retryAfterMs: 0 };
        answers[i] = { outcome, granted: Number(raw[at + 2]) };
      }
      p.resolve(answers);
    }
  }

  function call(buckets: readonly BucketCheck[], wants: readonly number[]): Promise<Answer[]> {
    return new Promise((resolve, reject) => {
      queue.push({ buckets, wants, resolve, reject });
      schedule();
    });
  }

  const leaseFraction = Math.min(0.5, Math.max(0, options.leaseFraction ?? 0));
  const leases = leaseFraction > 0 ? new LRUCache<string, Lease>({ max: LEASE_KEYS }) : undefined;

  /** The bucket's lease, with its tokens dropped (and its size halved) when they lapsed. */
  function leaseOf(key: string, now: number): Lease | undefined {
    const lease = leases!.get(key);
    if (lease && lease.tokens > 0 && now >= lease.expiresAt) {
      lease.tokens = 0;
      lease.want >>= 1;
    }
    return lease;
  }

  /** Spends a leased request; its outcome as Redis would have answered it, give or take the other processes' requests. */
  function spend(lease: Lease, now: number): BucketOutcome {
    lease.tokens--;
    return { allowed: true, remaining: lease.remaining + lease.tokens, resetMs: Math.max(0, Math.ceil(lease.resetAt - now)), retryAfterMs: 0 };
  }

  /** Keeps what Redis granted beyond the request itself; the next lease of a bucket used up in time is twice as large. */
  function keep(key: string, rate: BucketCheck['rate'], answer: Answer, asked: boolean, now: number): void {
    let lease = leases!.get(key);
    if (!lease) leases!.set(key, (lease = { tokens: 0, expiresAt: 0, want: 0, asking: false, remaining: 0, resetAt: 0 }));
    if (asked) lease.asking = false;
    if (answer.granted === 0) return; // refused (by this bucket or another of the request): nothing was charged
    const cap = Math.floor(rate.limit * leaseFraction);
    // Seen again while its last lease (or single request) was still fresh and spent: it is busy here.
    if (lease.tokens === 0 && now < lease.expiresAt) lease.want = Math.min(cap, Math.max(1, lease.want * 2));
    lease.tokens += answer.granted - 1;
    lease.expiresAt = now + LEASE_MS;
    lease.remaining = answer.outcome.remaining;
    lease.resetAt = now + answer.outcome.resetMs;
  }

  /** `check` with leases: buckets with leased requests are answered here; the others go to Redis, asking for a lease. */
  async function checkLeased(buckets: readonly BucketCheck[]): Promise<BucketOutcome[]> {
    const now = performance.now();
    const outcomes: BucketOutcome[] = new Array(buckets.length);
    const spent: Lease[] = [];
    const remote: BucketCheck[] = [];
    const wants: number[] = [];
    const asked: boolean[] = [];
    const at: number[] = [];
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      const lease = leaseOf(b.key, now);
      if (lease && lease.tokens > 0) {
        outcomes[i] = spend(lease, now);
        spent.push(lease);
        continue;
      }
      const ask = lease !== undefined && lease.want > 0 && !lease.asking;
      if (ask) lease.asking = true;
      remote.push(b);
      wants.push(ask ? 1 + lease.want : 1);
      asked.push(ask);
      at.push(i);
    }
    if (remote.length === 0) return outcomes;
    let answers: Answer[];
    try {
      answers = await call(remote, wants);
    } catch (error) {
      for (let j = 0; j < remote.length; j++) {
        const lease = asked[j] ? leases!.get(remote[j]!.key) : undefined;
        if (lease) lease.asking = false;
      }
      for (const lease of spent) lease.tokens++;
      throw error;
    }
    const later = performance.now();
    for (let j = 0; j < remote.length; j++) {
      const answer = answers[j]!;
      keep(remote[j]!.key, remote[j]!.rate, answer, asked[j]!, later);
      // What the caller may still make counts the requests leased to this process.
      outcomes[at[j]!] = answer.granted > 1 ? { ...answer.outcome, remaining: answer.outcome.remaining + answer.granted - 1 } : answer.outcome;
    }
    // Refused by Redis: the leased requests this one took are given back (all or nothing).
    if (answers.some((a) => !a.outcome.allowed)) for (const lease of spent) lease.tokens++;
    return outcomes;
  }

  /** Answered from leases alone, when every bucket has a leased request; else nothing is spent. */
  function checkNow(buckets: readonly BucketCheck[]): BucketOutcome[] | undefined {
    if (!leases) return undefined;
    const now = performance.now();
    const held: Lease[] = [];
    for (const b of buckets) {
      const lease = leaseOf(b.key, now);
      if (!lease || lease.tokens === 0) return undefined;
      held.push(lease);
    }
    return held.map((lease) => spend(lease, now));
  }

  return {
    kind: 'redis',
    checkNow,
    check(buckets: readonly BucketCheck[]): Promise<BucketOutcome[]> {
      if (leases) return checkLeased(buckets);
      return call(buckets, buckets.map(() => 1)).then((answers) => answers.map((a) => a.outcome));
    },
    async close() {
      if (!options.ownsClient) return;
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
