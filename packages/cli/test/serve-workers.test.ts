/**
 * `plinth serve --workers N`: N server processes on one port, one PostgreSQL
 * and one Redis. Rate limits and cache invalidation behave the same with two
 * processes as with one. Every request below opens its own connection, so
 * node:cluster hands them to the processes in turn.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { builtinModules, type CatalogService, createPlinth, systemActor } from '@plinth/core';
import { createTestDatabase, testRedisUrl } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from './cli.js';

/** GET on a connection of its own (no keep-alive): answered by whichever process accepts it. */
function get(url: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('plinth serve --workers', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function cluster(workers: number, env: Record<string, string>) {
    const db = await createTestDatabase('postgres');
    cleanups.push(() => db.drop());
    const server = await serve(['--port', '0', '--database-url', db.url, '--no-worker', '--workers', String(workers)], {
      env: { PLINTH_REDIS_URL: testRedisUrl, PLINTH_LOG_LEVEL: 'warn', ...env },
      timeoutMs: 40_000,
    });
    cleanups.push(async () => {
      const exit = await server.stop('SIGTERM');
      expect(exit.code, server.stderr()).toBe(0);
    });
    return { server, db };
  }

  it('starts N processes on one port and stops them all on SIGTERM', async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(() => db.drop());
    const server = await serve(['--port', '0', '--database-url', db.url, '--workers', '2'], { env: { PLINTH_LOG_LEVEL: 'warn' }, timeoutMs: 40_000 });
    const pids = /2 server processes \(pids (\d+), (\d+)\)/.exec(server.stdout())?.slice(1).map(Number) ?? [];
    expect(pids).toHaveLength(2);
    expect(new Set(pids).size).toBe(2);
    for (let i = 0; i < 4; i++) expect((await get(`${server.url}/healthz`)).status).toBe(200);
    // Without Redis, it says that the processes keep separate limits and caches.
    expect(server.stderr() + server.stdout()).toContain('without Redis');
    const exit = await server.stop('SIGTERM');
    expect(exit.code).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });

  it.each([1, 2])('shares one rate limit between %i process(es) through Redis', async (workers) => {
    const { server } = await cluster(workers, {
      PLINTH_RATE_LIMIT_ENABLED: 'true',
      PLINTH_RATE_LIMIT_PER_IP: '8/60',
      PLINTH_RATE_LIMIT_KEY_PREFIX: `test:${randomUUID()}:`,
    });
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await get(`${server.url}/v1/products`)).status);
    expect(statuses).toEqual([...Array(8).fill(200), ...Array(4).fill(429)]);
  });

  it.each([1, 2])('shows a product change to every one of %i process(es) within the bound', async (workers) => {
    const keyPrefix = `test:${randomUUID()}:`;
    const { server, db } = await cluster(workers, { PLINTH_CACHE_KEY_PREFIX: keyPrefix, PLINTH_CACHE_MAX_AGE_MS: '60000' });
    // The writer: another process on the same PostgreSQL and Redis (the test itself).
    const writer = createPlinth({ databaseUrl: db.url, redisUrl: testRedisUrl, cache: { keyPrefix }, processEnv: false, logLevel: 'silent', builtins: builtinModules });
    cleanups.push(() => writer.close());
    await writer.start();
    const catalog = writer.service<CatalogService>('catalog');
    const caller = { actor: systemActor('test'), ip: '127.0.0.1', userAgent: 'vitest', requestId: 'r1' };
    const product = await catalog.createProduct({ name: 'Kettle', skus: [{ sku: `K-${randomUUID().slice(0, 6)}`, price: { amount: 2500, currency: 'EUR' } }] } as never, caller as never);
    for (let i = 0; i < 6; i++) expect((await get(`${server.url}/v1/products/${product.id}`)).body.name).toBe('Kettle'); // every process caches it

    for (let round = 1; round <= 3; round++) {
      const name = `Kettle v${round}`;
      await catalog.updateProduct(product.id, { name }, undefined, caller as never);
      const written = performance.now();
      await new Promise((r) => setTimeout(r, 250)); // the documented bound while Redis answers
      const names = [];
      for (let i = 0; i < 6; i++) names.push((await get(`${server.url}/v1/products/${product.id}`)).body.name);
      expect(names).toEqual(Array(6).fill(name));
      expect(performance.now() - written).toBeLessThan(5000);
    }
  });
});
