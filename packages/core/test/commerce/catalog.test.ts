/**
 * Catalog routes over real HTTP: categories, products (create, read, update with
 * optimistic concurrency, archive), lists with filters, sorts and cursors.
 */
import { describe, expect, it } from 'vitest';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld, problem } from './support.js';

describe.each(dialects)('catalog on %s', (dialect) => {
  const h = useHarness();

  it('GET/POST /v1/categories: a tree anyone can read and staff can grow', async () => {
    const w = await commerceWorld(h, dialect);
    const root = await w.call('POST', '/v1/categories', w.staff, { name: 'Clothes', slug: 'clothes' });
    expect(root.status).toBe(201);
    expect(root.body).toMatchObject({ name: 'Clothes', slug: 'clothes', parentId: null });
    const child = await w.call('POST', '/v1/categories', w.staff, { name: 'Hats', slug: 'hats', parentId: root.body.id });
    expect(child.body.parentId).toBe(root.body.id);
    problem(await w.call('POST', '/v1/categories', w.staff, { name: 'Hats', slug: 'Bad Slug' }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/categories', null, { name: 'X', slug: 'x' }), 401, 'auth.unauthenticated');
    problem(await w.call('POST', '/v1/categories', w.ann, { name: 'X', slug: 'x' }), 403, 'auth.forbidden');
    problem(await w.call('POST', '/v1/categories', w.staff, { name: 'X', slug: 'x', parentId: 'nope' }), 404, 'catalog.category_not_found');
    problem(await w.call('POST', '/v1/categories', w.staff, { name: 'Again', slug: 'hats' }), 409, 'catalog.category_exists');

    const all = await w.call('GET', '/v1/categories', null);
    expect(all.status).toBe(200);
    expect(all.body.data.map((c: any) => c.slug)).toEqual(['clothes', 'hats']);
    const page1 = await w.call('GET', '/v1/categories?limit=1', null);
    expect(page1.body.data.map((c: any) => c.slug)).toEqual(['clothes']);
    const page2 = await w.call('GET', `/v1/categories?limit=1&cursor=${page1.body.nextCursor}`, null);
    expect(page2.body).toMatchObject({ data: [{ slug: 'hats' }], nextCursor: null });
    const children = await w.call('GET', `/v1/categories?parentId=${root.body.id}`, null);
    expect(children.body.data.map((c: any) => c.slug)).toEqual(['hats']);
    problem(await w.call('GET', '/v1/categories?cursor=garbage', null), 422, 'validation.failed');
    expect((await w.events('category.created')).length).toBe(2);
  });

  it('POST /v1/products: staff create products with SKUs in one currency; audited, with an event', async () => {
    const w = await commerceWorld(h, dialect);
    const body = {
      name: 'T-shirt',
      description: 'Organic cotton',
      skus: [
        { sku: 'TS-RED-M', name: 'Red / M', attributes: { color: 'red', size: 'M' }, price: { amount: 1999, currency: 'EUR' } },
        { sku: 'TS-RED-L', name: 'Red / L', price: { amount: 2199, currency: 'EUR' } },
      ],
    };
    const created = await w.call('POST', '/v1/products', w.staff, body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'T-shirt', description: 'Organic cotton', status: 'active', version: 1, categoryId: null,
      price: { amount: 1999, currency: 'EUR' },
      skus: [
        { sku: 'TS-RED-M', name: 'Red / M', attributes: { color: 'red', size: 'M' }, price: { amount: 1999, currency: 'EUR' }, available: 0 },
        { sku: 'TS-RED-L', name: 'Red / L', attributes: {}, price: { amount: 2199, currency: 'EUR' }, available: 0 },
      ],
    });
    const events = await w.events('product.created');
    expect(events.map((e) => e.aggregate_id)).toEqual([created.body.id]);
    const audit = await w.app.plinth.db.selectFrom('audit_events').select(['action', 'actor_id']).where('target_id', '=', created.body.id).execute();
    expect(audit).toEqual([{ action: 'catalog.product.created', actor_id: w.staff.id }]);

    problem(await w.call('POST', '/v1/products', w.staff, { ...body, skus: [] }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/products', w.staff, { ...body, skus: [{ sku: 'A', price: { amount: 1.5, currency: 'EUR' } }] }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/products', w.staff, { ...body, skus: [{ sku: 'A', price: { amount: 1, currency: 'XYZ' } }] }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/products', w.staff, { ...body, skus: [{ sku: 'A', price: { amount: -1, currency: 'EUR' } }] }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/products', null, body), 401, 'auth.unauthenticated');
    problem(await w.call('POST', '/v1/products', w.ann, body), 403, 'auth.forbidden');
    problem(await w.call('POST', '/v1/products', w.staff, { ...body, categoryId: 'missing' }), 404, 'catalog.category_not_found');
    problem(await w.call('POST', '/v1/products', w.staff, body), 409, 'catalog.sku_taken');
    problem(
      await w.call('POST', '/v1/products', w.staff, { name: 'Mixed', skus: [{ sku: 'M1', price: { amount: 1, currency: 'EUR' } }, { sku: 'M2', price: { amount: 1, currency: 'USD' } }] }),
      422,
      'catalog.mixed_currencies',
    );
    // Nothing of the refused products was written.
    const count = await w.app.plinth.db.selectFrom('products').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  it('GET /v1/products/:id: public for active products, archived ones only for staff, stock per SKU', async () => {
    const w = await commerceWorld(h, dialect);
    const p = await w.product({ skus: [{ sku: 'CUP-1', amount: 500, stock: 7 }] });
    const read = await w.call('GET', `/v1/products/${p.id}`, null);
    expect(read.status).toBe(200);
    expect(read.body.skus).toEqual([{ sku: 'CUP-1', name: null, attributes: {}, price: { amount: 500, currency: 'EUR' }, available: 7 }]);
    problem(await w.call('GET', '/v1/products/unknown', null), 404, 'catalog.product_not_found');
    const bad = await w.call('GET', `/v1/products/${'x'.repeat(65)}`, null);
    problem(bad, 422, 'validation.failed');

    const archived = await w.call('DELETE', `/v1/products/${p.id}`, w.staff);
    expect(archived.status).toBe(204);
    problem(await w.call('GET', `/v1/products/${p.id}`, null), 404, 'catalog.product_not_found');
    problem(await w.call('GET', `/v1/products/${p.id}`, w.ann), 404, 'catalog.product_not_found');
    expect((await w.call('GET', `/v1/products/${p.id}`, w.staff)).body.status).toBe('archived');
    problem(await w.call('DELETE', `/v1/products/${p.id}`, w.ann), 403, 'auth.forbidden');
    problem(await w.call('DELETE', `/v1/products/${p.id}`, null), 401, 'auth.unauthenticated');
    problem(await w.call('DELETE', '/v1/products/nope', w.staff), 404, 'catalog.product_not_found');
    expect((await w.events('product.archived')).length).toBe(1);
  });

  it('PATCH /v1/products/:id: a stale version is 409, never a silent overwrite', async () => {
    const w = await commerceWorld(h, dialect);
    const p = await w.product({ name: 'Mug', skus: [{ sku: 'MUG-1', amount: 900 }] });
    const first = await w.call('PATCH', `/v1/products/${p.id}`, w.staff, { version: 1, name: 'Big mug', skus: [{ sku: 'MUG-1', price: { amount: 1200, currency: 'EUR' } }, { sku: 'MUG-2', price: { amount: 800, currency: 'EUR' } }] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ name: 'Big mug', version: 2, price: { amount: 800, currency: 'EUR' } });
    expect(first.body.skus.map((s: any) => [s.sku, s.price.amount])).toEqual([['MUG-1', 1200], ['MUG-2', 800]]);
    // The second writer read version 1 too.
    problem(await w.call('PATCH', `/v1/products/${p.id}`, w.staff, { version: 1, name: 'Lost update' }), 409, 'catalog.version_conflict');
    problem(await w.call('PATCH', `/v1/products/${p.id}`, w.staff, { name: 'Lost update' }, { 'if-match': '"1"' }), 409, 'catalog.version_conflict');
    expect((await w.call('GET', `/v1/products/${p.id}`, null)).body.name).toBe('Big mug');
    const viaHeader = await w.call('PATCH', `/v1/products/${p.id}`, w.staff, { description: 'Holds a lot' }, { 'if-match': 'W/"2"' });
    expect(viaHeader.body).toMatchObject({ version: 3, description: 'Holds a lot' });
    problem(await w.call('PATCH', `/v1/products/${p.id}`, w.staff, { version: 3, price: 5 }), 422, 'validation.failed');
    problem(await w.call('PATCH', `/v1/products/${p.id}`, w.staff, { version: 3, skus: [{ sku: 'MUG-3', price: { amount: 1, currency: 'USD' } }] }), 422, 'catalog.mixed_currencies');
    problem(await w.call('PATCH', `/v1/products/${p.id}`, w.staff, { name: 'x' }, { 'if-match': 'abc' }), 422, 'validation.failed');
    problem(await w.call('PATCH', `/v1/products/${p.id}`, null, { version: 3, name: 'x' }), 401, 'auth.unauthenticated');
    problem(await w.call('PATCH', `/v1/products/${p.id}`, w.ann, { version: 3, name: 'x' }), 403, 'auth.forbidden');
    problem(await w.call('PATCH', '/v1/products/nope', w.staff, { version: 1, name: 'x' }), 404, 'catalog.product_not_found');
    const events = await w.events('product.updated');
    expect(events.map((e) => e.payload.version)).toEqual([2, 3]);
    const audit = await w.app.plinth.db.selectFrom('audit_events').select(['data']).where('action', '=', 'catalog.product.updated').orderBy('id').execute();
    expect(w.app.plinth.storage.fromJson<any>(audit[0]!.data).prices).toEqual([
      { sku: 'MUG-1', before: 900, after: 1200, currency: 'EUR' },
      { sku: 'MUG-2', before: null, after: 800, currency: 'EUR' },
    ]);
  });

  it('GET /v1/products: filters (category subtree, price, status), sorts and stable cursors', async () => {
    const w = await commerceWorld(h, dialect);
    const clothes = (await w.call('POST', '/v1/categories', w.staff, { name: 'Clothes', slug: 'clothes' })).body;
    const hats = (await w.call('POST', '/v1/categories', w.staff, { name: 'Hats', slug: 'hats', parentId: clothes.id })).body;
    const toys = (await w.call('POST', '/v1/categories', w.staff, { name: 'Toys', slug: 'toys' })).body;
    const a = await w.product({ name: 'Alpha', categoryId: clothes.id, skus: [{ sku: 'A1', amount: 300 }] });
    const b = await w.product({ name: 'Bravo', categoryId: hats.id, skus: [{ sku: 'B1', amount: 100 }] });
    const c = await w.product({ name: 'Charlie', categoryId: toys.id, skus: [{ sku: 'C1', amount: 200 }] });
    const d = await w.product({ name: 'Delta', skus: [{ sku: 'D1', amount: 400 }] });
    await w.call('DELETE', `/v1/products/${d.id}`, w.staff);
    const ids = async (query: string, who: any = null) => {
      const res = await w.call('GET', `/v1/products${query}`, who);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.data.map((p: any) => p.id);
    };
    expect(await ids('')).toEqual([c.id, b.id, a.id]); // newest first, archived left out
    expect(await ids('?sort=createdAt')).toEqual([a.id, b.id, c.id]);
    expect(await ids('?sort=price')).toEqual([b.id, c.id, a.id]);
    expect(await ids('?sort=-price')).toEqual([a.id, c.id, b.id]);
    expect(await ids('?sort=name')).toEqual([a.id, b.id, c.id]);
    expect(await ids(`?categoryId=${clothes.id}&sort=name`)).toEqual([a.id, b.id]);
    expect(await ids(`?categoryId=${hats.id}`)).toEqual([b.id]);
    expect(await ids('?minPrice=150&maxPrice=300&sort=price')).toEqual([c.id, a.id]);
    expect(await ids('?currency=USD')).toEqual([]);
    expect(await ids('?status=archived', w.staff)).toEqual([d.id]);
    problem(await w.call('GET', '/v1/products?status=archived', w.ann), 403, 'auth.forbidden');
    problem(await w.call('GET', '/v1/products?status=archived', null), 401, 'auth.unauthenticated');
    problem(await w.call('GET', '/v1/products?sort=color', null), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/products?minPrice=cheap', null), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/products?sort=relevance', null), 422, 'validation.failed');

    // Cursors: every sort walks the whole list once, page by page, even when rows are added meanwhile.
    for (const sort of ['-createdAt', 'createdAt', 'price', '-price', 'name', '-name']) {
      const expected = await ids(`?sort=${sort}`);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: any = await w.call('GET', `/v1/products?sort=${sort}&limit=1${cursor ? `&cursor=${cursor}` : ''}`, null);
        seen.push(...res.body.data.map((p: any) => p.id));
        cursor = res.body.nextCursor;
        if (seen.length === 1 && sort === 'createdAt') await w.product({ name: 'Echo', skus: [{ sku: `E-${sort}`, amount: 50 }] });
      } while (cursor);
      if (sort === 'createdAt') expect(seen.slice(0, 3)).toEqual(expected);
      else expect(seen.filter((id) => expected.includes(id))).toEqual(expected);
    }
    const page = await w.call('GET', '/v1/products?sort=price&limit=1', null);
    problem(await w.call('GET', `/v1/products?sort=name&cursor=${page.body.nextCursor}`, null), 422, 'validation.failed');
  });
});
