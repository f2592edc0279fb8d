/**
 * Public catalog reads go through `kernel.cache` as answers serialized once: a repeated
 * read does not reach the service, and no write (a price change, stock reserved by an order,
 * an archive, a new product) ever leaves a stale answer behind.
 */
import { describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import type { CatalogService } from '../../src/index.js';
import { currentProductStamps, productStamp } from '../../src/modules/catalog/product-stamps.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld, problem } from './support.js';

describe.each(dialects)('catalog read cache on %s', (dialect) => {
  const h = useHarness();

  it('GET /v1/products/:id is read once, answered with its ETag, and fresh after every kind of write', async () => {
    const w = await commerceWorld(h, dialect);
    const p = await w.product({ skus: [{ sku: 'CACHE-1', amount: 500, stock: 7 }] });
    const catalog = w.app.plinth.service<CatalogService>('catalog');
    const loads = vi.spyOn(catalog, 'getProduct');

    const first = await w.call('GET', `/v1/products/${p.id}`, null);
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe('"1"');
    expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const second = await w.call('GET', `/v1/products/${p.id}`, w.ann);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('etag')).toBe('"1"');
    expect(loads).toHaveBeenCalledTimes(1);

    // A price change: the next read sees it (and the new version).
    const patched = await w.call('PATCH', `/v1/products/${p.id}`, w.staff, { version: 1, skus: [{ sku: 'CACHE-1', price: { amount: 650, currency: 'EUR' } }] });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const repriced = await w.call('GET', `/v1/products/${p.id}`, null);
    expect(repriced.body.skus[0].price.amount).toBe(650);
    expect(repriced.headers.get('etag')).toBe('"2"');

    // Stock reserved by an order: available drops at once.
    const order = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'CACHE-1', quantity: 3 }] });
    expect(order.status, JSON.stringify(order.body)).toBe(201);
    expect((await w.call('GET', `/v1/products/${p.id}`, null)).body.skus[0].available).toBe(4);

    // Archived: gone for the public and customers, still there for staff (read past the cache).
    expect((await w.call('DELETE', `/v1/products/${p.id}`, w.staff)).status).toBe(204);
    problem(await w.call('GET', `/v1/products/${p.id}`, null), 404, 'catalog.product_not_found');
    problem(await w.call('GET', `/v1/products/${p.id}`, w.ann), 404, 'catalog.product_not_found');
    const staffRead = await w.call('GET', `/v1/products/${p.id}`, w.staff);
    expect(staffRead.body.status).toBe('archived');
    expect(staffRead.headers.get('etag')).toBe('"3"');
    problem(await w.call('GET', '/v1/products/nope', null), 404, 'catalog.product_not_found');
  });

  it('product lists and categories are cached per query and see new products at once; archived lists are never cached', async () => {
    const w = await commerceWorld(h, dialect);
    const category = (await w.call('POST', '/v1/categories', w.staff, { name: 'Hats', slug: 'hats' })).body;
    await w.product({ name: 'Wool hat', categoryId: category.id, skus: [{ sku: 'HAT-1', amount: 2000 }] });
    const catalog = w.app.plinth.service<CatalogService>('catalog');
    const lists = vi.spyOn(catalog, 'listProducts');
    const categories = vi.spyOn(catalog, 'listCategories');

    const path = `/v1/products?categoryId=${category.id}&sort=price&limit=10`;
    const a = await w.call('GET', path, null);
    expect(a.body.data.map((p: any) => p.name)).toEqual(['Wool hat']);
    const b = await w.call('GET', path, w.ann);
    expect(b.text).toBe(a.text);
    expect(lists).toHaveBeenCalledTimes(1);
    // Another query is another entry.
    expect((await w.call('GET', `/v1/products?categoryId=${category.id}&sort=-price&limit=10`, null)).body.data).toHaveLength(1);
    expect(lists).toHaveBeenCalledTimes(2);

    expect((await w.call('GET', '/v1/categories', null)).body.data.map((c: any) => c.slug)).toEqual(['hats']);
    expect((await w.call('GET', '/v1/categories', null)).body.data.map((c: any) => c.slug)).toEqual(['hats']);
    expect(categories).toHaveBeenCalledTimes(1);

    // Writes: a new product and a new category show up on the next read.
    await w.product({ name: 'Silk hat', categoryId: category.id, skus: [{ sku: 'HAT-2', amount: 1500 }] });
    expect((await w.call('GET', path, null)).body.data.map((p: any) => p.name)).toEqual(['Silk hat', 'Wool hat']);
    expect((await w.call('POST', '/v1/categories', w.staff, { name: 'Caps', slug: 'caps' })).status).toBe(201);
    expect((await w.call('GET', '/v1/categories', null)).body.data.map((c: any) => c.slug)).toEqual(['caps', 'hats']);

    // Archived products are staff-only: never served from the shared cache.
    problem(await w.call('GET', '/v1/products?status=archived', null), 401, 'auth.unauthenticated');
    problem(await w.call('GET', '/v1/products?status=archived', w.ann), 403, 'auth.forbidden');
    expect((await w.call('GET', '/v1/products?status=archived', w.staff)).status).toBe(200);
    // A bad cursor is still a 422, not a cached page.
    problem(await w.call('GET', '/v1/products?cursor=garbage', null), 422, 'validation.failed');
  });

  it("the bulk check's stamps, made by the database, are the answers' own: unchanged products are kept, changed ones are not", async () => {
    const w = await commerceWorld(h, dialect);
    const multi = await w.product({ skus: [{ sku: 'ST-B', amount: 500, stock: 3 }, { sku: 'ST-A', amount: 700, stock: 12 }, { sku: 'ST-C', amount: 900 }] });
    const single = await w.product({ skus: [{ sku: 'ST-D', amount: 100, stock: 1 }] });
    const catalog = w.app.plinth.service<CatalogService>('catalog');
    const stampOf = async (id: string) => productStamp(await catalog.getProduct(id, null));
    const stamps = await currentProductStamps(w.app.plinth, [multi.id, single.id, 'no-such-product']);
    expect(stamps).toEqual(new Map([[multi.id, await stampOf(multi.id)], [single.id, await stampOf(single.id)]]));
    expect(stamps.get(multi.id)).toBe('1|ST-B=3|ST-A=12|ST-C=0'); // SKUs in the answer's order; no stock row is 0

    // Stock reserved, then a price change (a new version): each changes the stamp.
    expect((await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'ST-A', quantity: 2 }] })).status).toBe(201);
    expect((await currentProductStamps(w.app.plinth, [multi.id])).get(multi.id)).toBe('1|ST-B=3|ST-A=10|ST-C=0');
    const patched = await w.call('PATCH', `/v1/products/${single.id}`, w.staff, { version: 1, skus: [{ sku: 'ST-D', price: { amount: 150, currency: 'EUR' } }] });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((await currentProductStamps(w.app.plinth, [single.id])).get(single.id)).toBe(await stampOf(single.id));
    expect((await currentProductStamps(w.app.plinth, [single.id])).get(single.id)).toBe('2|ST-D=1');
  });

  it('GET /v1/products/:id past cache.maxAgeMs: kept while unchanged though others commit, reloaded once another process moves its stock', async () => {
    const clock = createManualClock();
    const w = await commerceWorld(h, dialect, { clock, cache: { maxAgeMs: 1000 } });
    const p = await w.product({ skus: [{ sku: 'AGE-1', amount: 500, stock: 7 }] });
    const catalog = w.app.plinth.service<CatalogService>('catalog');
    const loads = vi.spyOn(catalog, 'getProduct');
    const other = h.plinth(w.app.db.url);
    await other.start();
    const settle = () => new Promise((resolve) => setTimeout(resolve, 150)); // a background check's queries

    expect((await w.call('GET', `/v1/products/${p.id}`, null)).body.skus[0].available).toBe(7);
    // Another process commits something that leaves the answer as it is (and moves PostgreSQL's commit watermark).
    await other.db.updateTable('inventory_items').set({ low_stock_threshold: 2 }).where('sku', '=', 'AGE-1').execute();
    await settle();
    for (let i = 0; i < 4; i++) {
      clock.advance(600);
      const res = await w.call('GET', `/v1/products/${p.id}`, null);
      expect(res.body.skus[0].available).toBe(7);
      expect(res.headers.get('etag')).toBe('"1"');
      await settle();
    }
    // SQLite sees that commit (data_version) and loads once; PostgreSQL's check finds the product unchanged.
    expect(loads).toHaveBeenCalledTimes(dialect === 'sqlite' ? 2 : 1);

    // Stock moved by the other process: seen at once on SQLite, within maxAgeMs on PostgreSQL.
    await other.db.updateTable('inventory_items').set({ on_hand: 10 }).where('sku', '=', 'AGE-1').execute();
    await settle();
    clock.advance(1000);
    expect((await w.call('GET', `/v1/products/${p.id}`, null)).body.skus[0].available).toBe(10);

    // The product changed by the other process (renamed, a new version): the same bound.
    await other.db.updateTable('products').set({ name: 'Renamed', version: 2 }).where('id', '=', p.id).execute();
    await settle();
    clock.advance(1000);
    const renamed = await w.call('GET', `/v1/products/${p.id}`, null);
    expect(renamed.body.name).toBe('Renamed');
    expect(renamed.headers.get('etag')).toBe('"2"');
  });
});
