/**
 * The shared (Redis) read cache across Plinth instances on one database (each
 * dialect): the writer never reads its old value back, other instances see a
 * committed product change within the documented bound (pub/sub delivery),
 * concurrent misses of a product share one load, and the cache counts its hits.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type AccessService, type Actor, builtinModules, type CatalogService, type Plinth } from '../src/index.js';
import { dialects, startTestRedisServer, testRedisUrl } from '../src/testing/index.js';
import { as, system } from './access/support.js';
import { useHarness } from './support/harness.js';

/** The bound docs/operations.md promises for another process while Redis answers. */
const REMOTE_BOUND_MS = 250;

describe.each(dialects)('shared read cache on %s + Redis', (dialect) => {
  const h = useHarness();

  async function instances(n: number, redisUrl = testRedisUrl) {
    const { url } = await h.database(dialect);
    const cache = { keyPrefix: `test:${randomUUID()}:`, maxAgeMs: 60_000 };
    const out: Plinth[] = [];
    for (let i = 0; i < n; i++) {
      const plinth = h.plinth(url, { builtins: builtinModules, redisUrl, cache });
      await plinth.start();
      out.push(plinth);
    }
    return out;
  }
  const catalog = (p: Plinth) => p.service<CatalogService>('catalog');
  const newProduct = (p: Plinth, name = 'Lamp') =>
    catalog(p).createProduct({ name, skus: [{ sku: `SKU-${randomUUID().slice(0, 8)}`, price: { amount: 1500, currency: 'EUR' } }] } as never, as(system));

  it('serves a product from memory, then from Redis in another instance', async () => {
    const [a, b] = (await instances(2)) as [Plinth, Plinth];
    const created = await newProduct(a);
    expect((await catalog(a).getProduct(created.id, null)).name).toBe('Lamp');
    expect(a.cache.stats.misses).toBe(1);
    await catalog(a).getProduct(created.id, null);
    expect(a.cache.stats.memoryHits).toBe(1);
    // B never read it: Redis has it from A.
    expect((await catalog(b).getProduct(created.id, null)).name).toBe('Lamp');
    expect(b.cache.stats).toMatchObject({ sharedHits: 1, misses: 0 });
    const metrics = await b.metrics.metrics();
    expect(metrics).toContain('plinth_cache_requests_total{result="redis_hit"} 1');
    expect(metrics).toMatch(/plinth_cache_hit_ratio 1\b/);
  });

  it('concurrent reads of a cold product load it once per instance, and a write still reaches both', async () => {
    const [a, b] = (await instances(2)) as [Plinth, Plinth];
    const created = await newProduct(a);
    const burst = (p: Plinth) => Promise.all(Array.from({ length: 20 }, () => catalog(p).getProduct(created.id, null)));
    // Every read misses memory at once: one of them reads Redis and the database, the others wait for it.
    expect((await burst(a)).map((p) => p.name)).toEqual(Array(20).fill('Lamp'));
    expect(a.cache.stats).toMatchObject({ misses: 1, sharedHits: 0, memoryHits: 19 });
    expect(await a.metrics.metrics()).toContain('plinth_cache_requests_total{result="memory_hit"} 19');
    expect((await burst(b)).map((p) => p.name)).toEqual(Array(20).fill('Lamp'));
    expect(b.cache.stats).toMatchObject({ misses: 0, sharedHits: 1, memoryHits: 19 });

    await catalog(a).updateProduct(created.id, { name: 'Desk lamp' }, undefined, as(system));
    expect((await burst(a)).map((p) => p.name)).toEqual(Array(20).fill('Desk lamp'));
    expect(a.cache.stats.misses).toBe(2);
    const written = performance.now();
    let seen = await burst(b);
    while (seen.some((p) => p.name !== 'Desk lamp') && performance.now() - written < 5000) {
      await sleep(5);
      seen = await burst(b);
    }
    expect(seen.map((p) => p.name)).toEqual(Array(20).fill('Desk lamp'));
    expect(performance.now() - written).toBeLessThan(REMOTE_BOUND_MS);
  });

  it('a product update through A is read back by A at once and seen by B within the bound', async () => {
    const [a, b] = (await instances(2)) as [Plinth, Plinth];
    const created = await newProduct(a);
    for (let round = 1; round <= 5; round++) {
      await catalog(b).getProduct(created.id, null); // B holds it in memory (maxAgeMs is a minute here)
      await catalog(b).listProducts({}, null);
      const name = `Lamp v${round}`;
      await catalog(a).updateProduct(created.id, { name }, undefined, as(system));
      expect((await catalog(a).getProduct(created.id, null)).name).toBe(name); // the writer: never the old value
      const written = performance.now();
      let seen = await catalog(b).getProduct(created.id, null);
      while (seen.name !== name && performance.now() - written < 5000) {
        await sleep(5);
        seen = await catalog(b).getProduct(created.id, null);
      }
      const lag = performance.now() - written;
      expect(seen.name).toBe(name);
      expect(lag).toBeLessThan(REMOTE_BOUND_MS);
      const list = await catalog(b).listProducts({}, null);
      expect(list.data.find((p) => p.id === created.id)?.name).toBe(name);
    }
  });

  it('a new product shows in another instance’s cached list', async () => {
    const [a, b] = (await instances(2)) as [Plinth, Plinth];
    await newProduct(a, 'First');
    expect((await catalog(b).listProducts({}, null)).data.map((p) => p.name)).toEqual(['First']);
    await newProduct(a, 'Second');
    await sleep(REMOTE_BOUND_MS);
    expect((await catalog(b).listProducts({}, null)).data.map((p) => p.name)).toEqual(['Second', 'First']);
  });

  it('reads the database while Redis is down, and the writer never sees its old value', async () => {
    const redis = await startTestRedisServer();
    h.defer(() => redis.stop());
    const [a, b] = (await instances(2, redis.url)) as [Plinth, Plinth];
    const created = await newProduct(a);
    await catalog(b).getProduct(created.id, null);
    await redis.stop();
    await catalog(a).updateProduct(created.id, { name: 'Offline edit' }, undefined, as(system));
    expect((await catalog(a).getProduct(created.id, null)).name).toBe('Offline edit');
    await redis.start();
    // B missed the message: it drops its memory on reconnect; A reads around Redis until ttlSeconds.
    const deadline = Date.now() + 15_000;
    let seen = await catalog(b).getProduct(created.id, null);
    while (seen.name !== 'Offline edit' && Date.now() < deadline) {
      await sleep(50);
      seen = await catalog(b).getProduct(created.id, null);
    }
    expect(seen.name).toBe('Offline edit');
    expect((await catalog(a).getProduct(created.id, null)).name).toBe('Offline edit');
  });

  it('a role change through A reaches the permission lookups of B within the bound', async () => {
    const [a, b] = (await instances(2)) as [Plinth, Plinth];
    const access = (p: Plinth) => p.service<AccessService>('access');
    await access(a).createRole({ name: 'merchandiser', permissions: ['orders:read'] } as never, as(system));
    const actor: Actor = { kind: 'user', userId: 'u-1', sessionId: 's-1', roles: ['merchandiser'] };
    expect(await b.can(actor, 'products:write')).toBe(false); // B caches the role's permissions
    await access(a).updateRole('merchandiser', { permissions: ['orders:read', 'products:write'] }, as(system));
    expect(await a.can(actor, 'products:write')).toBe(true);
    const written = performance.now();
    while (!(await b.can(actor, 'products:write')) && performance.now() - written < 5000) await sleep(5);
    expect(await b.can(actor, 'products:write')).toBe(true);
    expect(performance.now() - written).toBeLessThan(REMOTE_BOUND_MS);
  });
});
