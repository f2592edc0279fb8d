/**
 * Rate limits over HTTP: `RateLimit-*` headers, 429 problems with
 * `Retry-After`, per-route limits, and one limit shared by two server
 * instances through Redis, including while Redis is down.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPlinth, type CreatePlinthOptions } from '@plinth/core';
import { createTestDatabase, startTestRedisServer, testRedisUrl } from '@plinth/core/testing';
import { createServer } from '@plinth/server';
import { afterEach, describe, expect, it } from 'vitest';
import { widgetsModule } from './widgets-app.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A server on `databaseUrl` (a new database when not given), with rate limiting on. */
async function serve(options: CreatePlinthOptions & { databaseUrl?: string }) {
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl) {
    const db = await createTestDatabase('postgres');
    cleanups.push(() => db.drop());
    databaseUrl = db.url;
  }
  const plinth = createPlinth({
    processEnv: false,
    logLevel: 'silent',
    builtins: false,
    modules: [widgetsModule({ wait: async () => {} })],
    ...options,
    databaseUrl,
  });
  await plinth.start();
  const server = createServer(plinth, { host: '127.0.0.1', port: 0 });
  const { url } = await server.listen();
  cleanups.push(() => server.close());
  return { plinth, url, databaseUrl };
}

const post = (url: string, body: unknown = { name: 'w', count: 1 }) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('rate limits over HTTP', () => {
  it('sends RateLimit-* headers, then 429 rate_limit.exceeded with Retry-After; a 429 changes nothing', async () => {
    const { url, plinth } = await serve({ rateLimit: { enabled: true, perIp: '3/60', keyPrefix: `t:${randomUUID()}:` } });
    const first = await fetch(`${url}/v1/widgets`);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('3');
    expect(first.headers.get('ratelimit-remaining')).toBe('2');
    expect(first.headers.get('ratelimit-reset')).toBe('20');
    expect(first.headers.get('ratelimit-policy')).toBe('3;w=60');
    expect((await post(`${url}/v1/widgets`)).status).toBe(201);
    expect((await fetch(`${url}/v1/widgets/nope`)).status).toBe(404); // errors count too, and carry the headers
    const limited = await post(`${url}/v1/widgets`, { name: 'never', count: 1 });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('20');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect(await limited.json()).toMatchObject({ status: 429, code: 'rate_limit.exceeded', scope: 'ip', retryAfter: 20 });
    const names = await plinth.db.selectFrom('widgets').select('name').execute();
    expect(names.map((r) => r.name)).toEqual(['w']);
    // Probes are never limited.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('plinth_rate_limit_rejections_total{scope="ip",route="POST /v1/widgets"} 1');
  });

  it('applies a per-route limit without touching the other routes', async () => {
    const { url } = await serve({ rateLimit: { enabled: true, keyPrefix: `t:${randomUUID()}:`, routes: { 'POST /v1/widgets': '2/60' } } });
    expect((await post(`${url}/v1/widgets`)).status).toBe(201);
    const second = await post(`${url}/v1/widgets`);
    expect(second.status).toBe(201);
    expect(second.headers.get('ratelimit-policy')).toBe('2;w=60');
    expect((await post(`${url}/v1/widgets`)).status).toBe(429);
    const list = await fetch(`${url}/v1/widgets`);
    expect(list.status).toBe(200);
    expect(list.headers.get('ratelimit-policy')).toBe('600;w=60');
  });

  it('adds no headers and no checks when rate limiting is off', async () => {
    const { url } = await serve({});
    const res = await fetch(`${url}/v1/widgets`);
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-limit')).toBeNull();
  });

  it('shares one limit between two server instances through Redis', async () => {
    const rateLimit = { enabled: true, perIp: '6/60', keyPrefix: `t:${randomUUID()}:` };
    const a = await serve({ redisUrl: testRedisUrl, rateLimit });
    const b = await serve({ redisUrl: testRedisUrl, rateLimit, databaseUrl: a.databaseUrl });
    expect(a.plinth.rateLimiter.store?.kind).toBe('redis');
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await fetch(`${i % 2 ? b.url : a.url}/v1/widgets`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
  });

  it('keeps answering through a Redis outage (fail open) and limits again when Redis is back', async () => {
    const redis = await startTestRedisServer();
    cleanups.push(() => redis.stop());
    const rateLimit = { enabled: true, perIp: '4/60', keyPrefix: `t:${randomUUID()}:` };
    const a = await serve({ redisUrl: redis.url, rateLimit });
    const b = await serve({ redisUrl: redis.url, rateLimit, databaseUrl: a.databaseUrl });
    const statuses = async (n: number) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push((await fetch(`${i % 2 ? b.url : a.url}/v1/widgets`)).status);
      return out;
    };
    expect(await statuses(5)).toEqual([200, 200, 200, 200, 429]);
    await redis.stop();
    expect(await statuses(10)).toEqual(Array(10).fill(200));
    expect((await fetch(`${a.url}/readyz`)).status).toBe(503);
    await redis.start();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${b.url}/v1/widgets`);
      if (res.headers.get('ratelimit-limit') !== null) break;
      await sleep(100);
    }
    // Ready again without a restart.
    let ready = 0;
    while (Date.now() < deadline && ready !== 200) {
      ready = (await fetch(`${a.url}/readyz`)).status;
      if (ready !== 200) await sleep(100);
    }
    expect(ready).toBe(200);
    // Redis came back empty: the shared bucket starts again, and both instances use it.
    const after = await statuses(5);
    expect(after.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    expect(after.at(-1)).toBe(429);
  });
});
