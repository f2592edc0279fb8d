/**
 * Rate limiting: the GCRA stores (memory and Redis, one contract suite), the
 * limiter's buckets (IP, user, API key, route), and what happens when Redis
 * goes away and comes back.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  createLogger,
  createMemoryRateLimitStore,
  createRedisRateLimitStore,
  GCRA_SCRIPT,
  type PlinthError,
  type RateLimitStore,
  systemClock,
} from '../../src/index.js';
import { startTestRedisServer, type TestRedisServer, testRedisUrl } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';

const user = (userId: string): Actor => ({ kind: 'user', userId, sessionId: 's', roles: ['customer'] });
const apiKey = (keyId: string): Actor => ({ kind: 'api_key', keyId, userId: 'u-owner', roles: ['customer'], scopes: [] });

const stores: [string, () => Promise<{ store: RateLimitStore; close: () => Promise<void> }>][] = [
  ['memory', async () => ({ store: createMemoryRateLimitStore({ clock: systemClock, maxKeys: 1000 }), close: async () => {} })],
  [
    'redis',
    async () => {
      const redis = new Redis(testRedisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
      return { store: createRedisRateLimitStore(redis, { ownsClient: true }), close: async () => redis.quit().then(() => undefined) };
    },
  ],
];

describe.each(stores)('rate-limit store contract: %s', (_name, make) => {
  let store: RateLimitStore;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await make());
  });
  afterAll(async () => {
    await close();
  });
  const key = () => `test:rl:${randomUUID()}`;

  it('allows a burst of `limit` requests, counts down, then rejects with a retry time', async () => {
    const k = key();
    const rate = { limit: 3, periodMs: 60_000 };
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await store.check([{ key: k, rate }]))[0]!);
    expect(seen.map((o) => o.allowed)).toEqual([true, true, true, false]);
    expect(seen.slice(0, 3).map((o) => o.remaining)).toEqual([2, 1, 0]);
    expect(seen[3]!.retryAfterMs).toBeGreaterThan(19_000); // one request's share of the period (20 s)
    expect(seen[3]!.retryAfterMs).toBeLessThanOrEqual(20_000);
    expect(seen[2]!.resetMs).toBeGreaterThan(59_000);
  });

  it('refills at limit/period: one more request after one interval', async () => {
    const k = key();
    const rate = { limit: 2, periodMs: 1000 };
    expect((await store.check([{ key: k, rate }]))[0]!.allowed).toBe(true);
    expect((await store.check([{ key: k, rate }]))[0]!.allowed).toBe(true);
    const rejected = (await store.check([{ key: k, rate }]))[0]!;
    expect(rejected.allowed).toBe(false);
    await sleep(rejected.retryAfterMs + 30);
    expect((await store.check([{ key: k, rate }]))[0]!.allowed).toBe(true);
    expect((await store.check([{ key: k, rate }]))[0]!.allowed).toBe(false);
  });

  it('charges every bucket of a request or none of them', async () => {
    const wide = key();
    const narrow = key();
    const wideRate = { limit: 10, periodMs: 60_000 };
    const narrowRate = { limit: 1, periodMs: 60_000 };
    const first = await store.check([{ key: wide, rate: wideRate }, { key: narrow, rate: narrowRate }]);
    expect(first.map((o) => o.allowed)).toEqual([true, true]);
    const second = await store.check([{ key: wide, rate: wideRate }, { key: narrow, rate: narrowRate }]);
    expect(second.map((o) => o.allowed)).toEqual([true, false]);
    // The rejected request did not spend the wide bucket: 9 left after the first, still 8 after this one.
    const alone = await store.check([{ key: wide, rate: wideRate }]);
    expect(alone[0]).toMatchObject({ allowed: true, remaining: 8 });
  });

  it('keeps callers apart', async () => {
    const rate = { limit: 1, periodMs: 60_000 };
    const a = key();
    const b = key();
    expect((await store.check([{ key: a, rate }]))[0]!.allowed).toBe(true);
    expect((await store.check([{ key: a, rate }]))[0]!.allowed).toBe(false);
    expect((await store.check([{ key: b, rate }]))[0]!.allowed).toBe(true);
  });

  it('is exact under concurrent checks of one bucket', async () => {
    const k = key();
    const rate = { limit: 25, periodMs: 60_000 };
    const outcomes = await Promise.all(Array.from({ length: 60 }, () => store.check([{ key: k, rate }])));
    expect(outcomes.filter(([o]) => o!.allowed)).toHaveLength(25);
  });

  it('answers checks made at the same moment one request after the other, each all or nothing', async () => {
    const shared = key();
    const narrow = key();
    const sharedRate = { limit: 3, periodMs: 60_000 };
    const narrowRate = { limit: 1, periodMs: 60_000 };
    // Asked together: the second request is refused by its narrow bucket and must not spend the shared one.
    const [a, b, c, d, e] = await Promise.all([
      store.check([{ key: shared, rate: sharedRate }, { key: narrow, rate: narrowRate }]),
      store.check([{ key: shared, rate: sharedRate }, { key: narrow, rate: narrowRate }]),
      store.check([{ key: shared, rate: sharedRate }]),
      store.check([{ key: shared, rate: sharedRate }]),
      store.check([{ key: shared, rate: sharedRate }]),
    ]);
    expect(a!.map((o) => o.allowed)).toEqual([true, true]);
    expect(b!.map((o) => o.allowed)).toEqual([true, false]);
    expect(b![1]!.retryAfterMs).toBeGreaterThan(59_000);
    expect([c![0], d![0]]).toMatchObject([{ allowed: true, remaining: 1 }, { allowed: true, remaining: 0 }]);
    expect(e![0]).toMatchObject({ allowed: false, remaining: 0 });
  });
});

describe('the Redis store on a server of its own (script calls counted): batches and leases', () => {
  let server: TestRedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startTestRedisServer();
    await server.start();
    client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await client?.quit();
    await server?.stop();
  });

  const evalCalls = async () => {
    const stats = await client.info('commandstats');
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  };

  it('sends the checks of one event-loop turn as one script call, and is exact across callers', async () => {
    const store = createRedisRateLimitStore(client);
    const rate = { limit: 100, periodMs: 60_000 };
    const prefix = `test:${randomUUID()}:`;
    await store.check([{ key: `${prefix}warm`, rate }]); // the script is cached from here on
    const before = await evalCalls();
    const outcomes = await Promise.all(Array.from({ length: 150 }, (_, i) => store.check([{ key: `${prefix}ip:${i % 3}`, rate }])));
    expect(await evalCalls()).toBe(before + 1);
    // 50 requests per caller: each caller's remaining counts down 99 … 50 in the order asked.
    for (let caller = 0; caller < 3; caller++) {
      const remaining = outcomes.filter((_, i) => i % 3 === caller).map(([o]) => o!.remaining);
      expect(remaining).toEqual(Array.from({ length: 50 }, (_, i) => 99 - i));
    }
    const [next] = await store.check([{ key: `${prefix}ip:0`, rate }]);
    expect(next).toMatchObject({ allowed: true, remaining: 49 });
  });

  // Leases (`leaseFraction`): a busy bucket's requests taken several at a time.
  it('spends leased requests locally for a busy bucket: far fewer script calls, remaining still counts down', async () => {
    const store = createRedisRateLimitStore(client, { leaseFraction: 0.1 });
    const rate = { limit: 10_000, periodMs: 3_600_000 }; // one request refills every 360 ms: none during the test
    const key = `test:${randomUUID()}:ip`;
    const before = await evalCalls();
    const remaining: number[] = [];
    for (let i = 0; i < 400; i++) remaining.push((await store.check([{ key, rate }]))[0]!.remaining);
    const calls = (await evalCalls()) - before;
    expect(calls).toBeLessThan(20); // 1, 2, 3, 5, 9, 17, 33, 65, 129, 257 requests per call
    expect(calls).toBeGreaterThan(1);
    expect(remaining[0]).toBe(9_999);
    for (let i = 1; i < remaining.length; i++) expect(remaining[i]).toBeLessThan(remaining[i - 1]!);
    // Redis was charged for every request answered (and for the unspent rest of the last lease), never less.
    const tat = Number(await client.get(key));
    const [time] = await client.time();
    expect(tat - Number(time) * 1000).toBeGreaterThanOrEqual(400 * 360 - 5_000); // 360 ms per request, minus the time gone by
  });

  it('never admits more than the limit across processes, and refuses no more than the leases hold', async () => {
    const a = createRedisRateLimitStore(client, { leaseFraction: 0.1 });
    const b = createRedisRateLimitStore(client, { leaseFraction: 0.1 });
    const rate = { limit: 200, periodMs: 3_600_000 };
    const key = `test:${randomUUID()}:user`;
    let allowed = 0;
    for (let i = 0; i < 300; i++) {
      const [outcome] = await (i % 2 === 0 ? a : b).check([{ key, rate }]);
      if (outcome!.allowed) allowed++;
    }
    expect(allowed).toBeLessThanOrEqual(200);
    expect(allowed).toBeGreaterThanOrEqual(200 - 2 * 20); // at most one lease (10% of the limit) unspent per process
  });

  it('charges every bucket of a request or none, leased or not', async () => {
    const store = createRedisRateLimitStore(client, { leaseFraction: 0.5 });
    const busy = { key: `test:${randomUUID()}:ip`, rate: { limit: 1_000, periodMs: 60_000 } };
    const tight = { key: `test:${randomUUID()}:route`, rate: { limit: 2, periodMs: 60_000 } };
    for (let i = 0; i < 50; i++) await store.check([busy]); // the busy bucket now holds a lease
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await store.check([busy, tight]));
    expect(outcomes.map(([, t]) => t!.allowed)).toEqual([true, true, false, false]);
    // The refused requests gave their leased request back: 52 charged to the busy bucket, not 54.
    const [after] = await store.check([busy]);
    const leased = after!.remaining;
    expect(leased).toBeLessThanOrEqual(1_000 - 53);
    expect(leased).toBeGreaterThanOrEqual(1_000 - 53 - 500);
  });

  it('keeps limits under 1 / leaseFraction exact per check', async () => {
    const store = createRedisRateLimitStore(client, { leaseFraction: 0.01 });
    const rate = { limit: 10, periodMs: 60_000 };
    const key = `test:${randomUUID()}:signin`;
    const seen = [];
    for (let i = 0; i < 12; i++) seen.push((await store.check([{ key, rate }]))[0]!);
    expect(seen.map((o) => o.allowed)).toEqual([...Array(10).fill(true), false, false]);
    expect(seen.slice(0, 10).map((o) => o.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });
});

describe('the Redis store while a call is out (group commit)', () => {
  /** A stand-in client whose script calls answer when the test says so, with every bucket allowed. */
  function slowRedis() {
    const calls: { keys: string[]; args: string[]; answer: () => void; fail: (error: Error) => void }[] = [];
    const client = {
      evalsha(_sha: string, numKeys: number, args: string[]) {
        return new Promise<number[]>((resolve, reject) => {
          calls.push({ keys: args.slice(0, numKeys), args: args.slice(numKeys), answer: () => resolve(answerFor(args, numKeys)), fail: reject });
        });
      },
    };
    return { client: client as unknown as Redis, calls };
  }
  /** `[remaining 7, reset 100, granted 1]` for every bucket of every request in `args`. */
  function answerFor(args: string[], numKeys: number): number[] {
    const argv = args.slice(numKeys);
    let a = 1 + Number(argv[0]) * 3;
    const out: number[] = [];
    while (a < argv.length) {
      const n = Number(argv[a]);
      for (let i = 0; i < n; i++) out.push(7, 100, 1);
      a += 1 + 2 * n;
    }
    return out;
  }
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const rate = { limit: 10, periodMs: 60_000 };

  it('queues the checks made while a call is out and sends them together when it answers', async () => {
    const { client, calls } = slowRedis();
    const store = createRedisRateLimitStore(client);
    const first = store.check([{ key: 'a', rate }]);
    await turn();
    expect(calls).toHaveLength(1);
    const later: Promise<unknown>[] = [];
    for (let t = 0; t < 3; t++) {
      later.push(store.check([{ key: 'a', rate }]), store.check([{ key: 'b', rate }, { key: 'a', rate }]));
      await turn();
    }
    expect(calls).toHaveLength(1); // still waiting for the first answer
    calls[0]!.answer();
    expect(await first).toEqual([{ allowed: true, remaining: 7, resetMs: 100, retryAfterMs: 0 }]);
    await turn();
    expect(calls).toHaveLength(2);
    // Six requests, two distinct keys: each key is sent once, with one slot (key index, limit, period) each.
    expect(calls[1]!.keys).toEqual(['a', 'b']);
    expect(calls[1]!.args).toEqual(['2', '1', '10', '60000', '2', '10', '60000', ...Array.from({ length: 3 }, () => ['1', '1', '1', '2', '2', '1', '1', '1']).flat()]); // per bucket: slot, requests wanted
    calls[1]!.answer();
    expect((await Promise.all(later)).map((o) => (o as unknown[]).length)).toEqual([1, 2, 1, 2, 1, 2]);
  });

  it('lets `maxInFlight` calls out at once', async () => {
    const { client, calls } = slowRedis();
    const store = createRedisRateLimitStore(client, { maxInFlight: 2 });
    const checks = [store.check([{ key: 'a', rate }])];
    await turn();
    checks.push(store.check([{ key: 'a', rate }]));
    await turn();
    checks.push(store.check([{ key: 'a', rate }]));
    await turn();
    expect(calls).toHaveLength(2);
    calls[1]!.answer();
    await checks[1];
    await turn();
    expect(calls).toHaveLength(3); // the first call is still out
    calls[0]!.answer();
    calls[2]!.answer();
    expect(await Promise.all(checks)).toHaveLength(3);
  });

  it('fails the checks queued behind a call that fails, so none waits for two timeouts', async () => {
    const { client, calls } = slowRedis();
    const store = createRedisRateLimitStore(client);
    const first = store.check([{ key: 'a', rate }]).catch((e: unknown) => e);
    await turn();
    const queued = store.check([{ key: 'a', rate }]).catch((e: unknown) => e);
    await turn();
    calls[0]!.fail(new Error('Command timed out'));
    expect(await first).toMatchObject({ message: 'Command timed out' });
    expect(await queued).toMatchObject({ message: 'Command timed out' });
    expect(calls).toHaveLength(1);
    // The next check tries Redis again.
    const next = store.check([{ key: 'a', rate }]);
    await turn();
    expect(calls).toHaveLength(2);
    calls[1]!.answer();
    expect(await next).toEqual([{ allowed: true, remaining: 7, resetMs: 100, retryAfterMs: 0 }]);
  });

  it('answers a key checked with two rates in one call by each rate (Redis)', async () => {
    const client = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
    const store = createRedisRateLimitStore(client, { ownsClient: true });
    try {
      const k = `test:rl:${randomUUID()}`;
      const wide = { limit: 100, periodMs: 60_000 };
      const narrow = { limit: 2, periodMs: 60_000 };
      const outcomes = await Promise.all([
        store.check([{ key: k, rate: wide }]),
        store.check([{ key: k, rate: narrow }]),
        store.check([{ key: k, rate: wide }]),
        store.check([{ key: k, rate: narrow }]),
      ]);
      // One TAT per key, whichever rate charged it: the last request finds three charged before it.
      expect(outcomes.map(([o]) => o!.allowed)).toEqual([true, true, true, false]);
      expect(outcomes[0]![0]!.remaining).toBe(99);
      expect(outcomes[1]![0]!.remaining).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('the limiter', () => {
  const h = useHarness();

  async function limiterOn(options: Record<string, unknown> = {}) {
    const { url } = await h.database('sqlite');
    const plinth = h.plinth(url, { rateLimit: { enabled: true, keyPrefix: `test:${randomUUID()}:`, ...options } });
    await plinth.start();
    return plinth.rateLimiter;
  }

  it('is off by default in development and on in production', async () => {
    const { url } = await h.database('sqlite');
    expect(h.plinth(url).rateLimiter.enabled).toBe(false);
    const key = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
    expect(h.plinth(url, { env: 'production', encryptionKeys: [key] }).rateLimiter.enabled).toBe(true);
  });

  it('limits per IP, and per user and API key on top, reporting the tightest bucket', async () => {
    const limiter = await limiterOn({ perIp: '5/60', perUser: '3/60', perApiKey: '3/60' });
    const route = 'GET /v1/things';
    const first = await limiter.check({ route, ip: '10.0.0.1', actor: user('u1') });
    expect(first).toEqual({ allowed: true, headers: { limit: 3, remaining: 2, resetSeconds: 20, policy: '3;w=60' } });
    await limiter.check({ route, ip: '10.0.0.1', actor: user('u1') });
    await limiter.check({ route, ip: '10.0.0.1', actor: user('u1') });
    expect(await limiter.check({ route, ip: '10.0.0.1', actor: user('u1') })).toMatchObject({ allowed: false, scope: 'user', retryAfterSeconds: 20 });
    // Another user behind the same IP has what is left of the IP's limit (5 - 3; the rejected request cost nothing).
    for (let i = 0; i < 2; i++) expect((await limiter.check({ route, ip: '10.0.0.1', actor: user('u2') })).allowed).toBe(true);
    expect(await limiter.check({ route, ip: '10.0.0.1', actor: user('u2') })).toMatchObject({ allowed: false, scope: 'ip' });
    // An API key from another IP has its own bucket.
    for (let i = 0; i < 3; i++) expect((await limiter.check({ route, ip: '10.0.0.2', actor: apiKey('k1') })).allowed).toBe(true);
    expect(await limiter.check({ route, ip: '10.0.0.2', actor: apiKey('k1') })).toMatchObject({ allowed: false, scope: 'api_key' });
  });

  it('applies the stricter built-in limits on sign-in, and route overrides from config', async () => {
    const limiter = await limiterOn({ routes: { 'GET /v1/reports/:name': '1/60', 'POST /v1/auth/sign-up': false } });
    const signIn = [];
    for (let i = 0; i < 11; i++) signIn.push(await limiter.check({ route: 'POST /v1/auth/sign-in', ip: '10.0.0.3', actor: null }));
    expect(signIn.slice(0, 10).every((d) => d.allowed)).toBe(true);
    expect(signIn[10]).toMatchObject({ allowed: false, scope: 'route', headers: { limit: 10, policy: '10;w=60' } });
    // The sign-in limit is its own bucket: other routes from that IP still pass.
    expect((await limiter.check({ route: 'GET /v1/products', ip: '10.0.0.3', actor: null })).allowed).toBe(true);
    expect((await limiter.check({ route: 'GET /v1/reports/:name', ip: '10.0.0.4', actor: user('u3') })).allowed).toBe(true);
    expect(await limiter.check({ route: 'GET /v1/reports/:name', ip: '10.0.0.4', actor: user('u3') })).toMatchObject({ allowed: false, scope: 'route' });
    // `false` removed the built-in sign-up limit (5/60): only the per-IP limit (600/60) is left.
    for (let i = 0; i < 8; i++) expect((await limiter.check({ route: 'POST /v1/auth/sign-up', ip: '10.0.0.5', actor: null })).allowed).toBe(true);
  });

  it('never limits the probes', async () => {
    const limiter = await limiterOn({ perIp: '1/60' });
    for (let i = 0; i < 5; i++) expect(await limiter.check({ route: 'GET /readyz', ip: '10.0.0.6', actor: null })).toEqual({ allowed: true, headers: undefined });
  });

  it('rejects bad configuration with the key named', async () => {
    const { url } = await h.database('sqlite');
    expect(() => h.plinth(url, { rateLimit: { perIp: '10 per minute' as never } })).toThrow(/rateLimit.perIp \(PLINTH_RATE_LIMIT_PER_IP\)/);
    expect(() => h.plinth(url, { rateLimit: { store: 'redis' } })).toThrow(/needs redisUrl/);
    expect(() => h.plinth(url, { rateLimit: { routes: { 'sign-in': '1/60' } as never } })).toThrow(/rateLimit\.routes\.sign-in/);
  });
});

describe('the Redis store when Redis goes away', () => {
  const h = useHarness();
  let redis: TestRedisServer;
  beforeAll(async () => {
    redis = await startTestRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** A log destination that keeps the lines. */
  function logLines() {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    return { lines, logger: createLogger({ level: 'info', destination: stream }) };
  }

  async function limiterOn(whenStoreDown: 'failOpen' | 'failClosed') {
    await redis.start();
    const { url } = await h.database('sqlite');
    const log = logLines();
    const plinth = h.plinth(url, {
      redisUrl: redis.url,
      logger: log.logger,
      rateLimit: { enabled: true, whenStoreDown, perIp: '3/60', keyPrefix: `test:${randomUUID()}:`, logIntervalMs: 60_000 },
    });
    await plinth.start();
    return { plinth, limiter: plinth.rateLimiter, lines: log.lines };
  }

  async function until(check: () => Promise<boolean>, ms = 15_000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return;
      await sleep(100);
    }
    throw new Error('condition not met in time');
  }

  const ask = { route: 'GET /v1/things', ip: '10.1.0.1', actor: null };

  it('fails open: allows without headers, logs once, and limits again when Redis is back', async () => {
    const { plinth, limiter, lines } = await limiterOn('failOpen');
    expect(limiter.store?.kind).toBe('redis');
    for (let i = 0; i < 3; i++) expect((await limiter.check(ask)).allowed).toBe(true);
    expect((await limiter.check(ask)).allowed).toBe(false);

    await redis.stop();
    const started = performance.now();
    const during = [];
    for (let i = 0; i < 20; i++) during.push(await limiter.check(ask));
    expect(during.every((d) => d.allowed && d.headers === undefined)).toBe(true);
    expect(performance.now() - started).toBeLessThan(5000); // fails fast: no queueing behind the outage
    const warnings = lines.filter((l) => String(l.msg).includes('rate-limit store is not answering'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, policy: 'failOpen' });
    const metrics = await plinth.metrics.metrics();
    expect(metrics).toMatch(/plinth_rate_limit_store_errors_total\{policy="failOpen"\} 2\d/);

    await redis.start(); // empty: the buckets start full again
    await until(async () => (await limiter.check(ask)).headers !== undefined);
    for (let i = 0; i < 3; i++) await limiter.check(ask);
    expect(await limiter.check(ask)).toMatchObject({ allowed: false, scope: 'ip' });
    expect(lines.some((l) => l.msg === 'rate-limit store answers again')).toBe(true);
  });

  it('fails closed: 503 rate_limit.unavailable while Redis is down, limits again when it is back', async () => {
    const { limiter } = await limiterOn('failClosed');
    expect((await limiter.check(ask)).allowed).toBe(true);
    await redis.stop();
    const error = (await limiter.check(ask).catch((e: unknown) => e)) as PlinthError;
    expect(error).toMatchObject({ code: 'rate_limit.unavailable', status: 503 });
    await redis.start();
    await until(async () => (await limiter.check(ask).then(() => true, () => false)));
    expect((await limiter.check(ask)).allowed).toBe(true);
  });

  it('loads the script again after Redis forgets it (NOSCRIPT → EVAL)', async () => {
    await redis.start();
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    h.defer(() => client.quit());
    const store = createRedisRateLimitStore(client);
    const rate = { limit: 2, periodMs: 60_000 };
    const k = `test:${randomUUID()}`;
    expect((await store.check([{ key: k, rate }]))[0]!.allowed).toBe(true);
    await client.script('FLUSH');
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha1').update(GCRA_SCRIPT).digest('hex');
    expect(await client.script('EXISTS', sha)).toEqual([0]);
    expect((await store.check([{ key: k, rate }]))[0]).toMatchObject({ allowed: true, remaining: 0 });
    expect(await client.script('EXISTS', sha)).toEqual([1]);
  });
});
