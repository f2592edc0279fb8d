/**
 * Product search (`GET /v1/products?q=`): FTS5 on SQLite, tsvector on PostgreSQL,
 * behind one storage helper. Better matches first; cursors walk the ranking.
 */
import { describe, expect, it } from 'vitest';
import { searchTerms } from '../../src/storage/full-text.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld, problem } from './support.js';

describe('searchTerms', () => {
  it('keeps letters and digits only, lower-cased, so no query syntax gets through', () => {
    expect(searchTerms('Wool "scarf" OR NEAR(x) -hat* café:* 42')).toEqual(['wool', 'scarf', 'or', 'near', 'x', 'hat', 'café', '42']);
    expect(searchTerms('   ')).toEqual([]);
    expect(searchTerms('a '.repeat(50) + 'b c d e f g h i j k l m n')).toHaveLength(12);
  });
});

describe.each(dialects)('product search on %s', (dialect) => {
  const h = useHarness();

  it('ranks name matches above description matches and keeps archived products out', async () => {
    const w = await commerceWorld(h, dialect);
    const inDescription = await w.product({ name: 'Winter hat', description: 'Knitted from merino wool, warm and soft' });
    const inName = await w.product({ name: 'Wool scarf', description: 'A long scarf for cold days' });
    const inBoth = await w.product({ name: 'Wool socks', description: 'Thick wool socks, pure wool' });
    await w.product({ name: 'Cotton shirt', description: 'Light summer shirt' });
    const archived = await w.product({ name: 'Wool blanket', description: 'wool' });
    await w.call('DELETE', `/v1/products/${archived.id}`, w.staff);

    const res = await w.call('GET', '/v1/products?q=wool', null);
    expect(res.status).toBe(200);
    expect(res.body.data.map((p: any) => p.id)).toEqual([inBoth.id, inName.id, inDescription.id]);

    // Every word must match; the last one may be a prefix; case and punctuation do not matter.
    const two = await w.call('GET', `/v1/products?q=${encodeURIComponent('WOOL, sca')}`, null);
    expect(two.body.data.map((p: any) => p.id)).toEqual([inName.id]);
    // Operators of either engine are plain words here, never syntax errors.
    for (const q of ['"wool', 'wool OR cotton', 'wool*', 'NEAR(wool', 'wool & !', "wool'", 'wool:*']) {
      const r = await w.call('GET', `/v1/products?q=${encodeURIComponent(q)}`, null);
      expect(r.status, q).toBe(200);
    }
    expect((await w.call('GET', `/v1/products?q=${encodeURIComponent('?!')}`, null)).body).toEqual({ data: [], nextCursor: null });
    expect((await w.call('GET', '/v1/products?q=nothinglikethis', null)).body.data).toEqual([]);
    problem(await w.call('GET', `/v1/products?q=${'x'.repeat(201)}`, null), 422, 'validation.failed');
    // Search combines with filters and other sorts.
    const cheapFirst = await w.call('GET', '/v1/products?q=wool&sort=name', null);
    expect(cheapFirst.body.data.map((p: any) => p.name)).toEqual(['Winter hat', 'Wool scarf', 'Wool socks']);
    // Renaming re-indexes.
    await w.call('PATCH', `/v1/products/${inName.id}`, w.staff, { version: 1, name: 'Silk scarf', description: 'Fine' });
    expect((await w.call('GET', '/v1/products?q=wool', null)).body.data.map((p: any) => p.id)).toEqual([inBoth.id, inDescription.id]);
    expect((await w.call('GET', '/v1/products?q=silk', null)).body.data.map((p: any) => p.id)).toEqual([inName.id]);
  });

  it('pages through ranked results with stable cursors (ties broken by id)', async () => {
    const w = await commerceWorld(h, dialect);
    const made = [];
    // Six products with the same text rank the same: the id decides among them.
    for (let i = 0; i < 6; i++) made.push(await w.product({ name: `Lamp model ${i}`, description: 'desk lamp' }));
    const best = await w.product({ name: 'Lamp lamp lamp', description: 'lamp lamp' });
    const full = await w.call('GET', '/v1/products?q=lamp&limit=100', null);
    const order = full.body.data.map((p: any) => p.id);
    expect(order[0]).toBe(best.id);
    expect(new Set(order)).toEqual(new Set([best.id, ...made.map((p) => p.id)]));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await w.call('GET', `/v1/products?q=lamp&limit=2${cursor ? `&cursor=${cursor}` : ''}`, null);
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((p: any) => p.id));
      cursor = res.body.nextCursor;
      // A new match arriving meanwhile neither repeats nor skips what was already listed.
      if (seen.length === 2) await w.product({ name: 'Floor lamp', description: 'tall' });
    } while (cursor);
    expect(seen.filter((id) => order.includes(id))).toEqual(order);
    expect(new Set(seen).size).toBe(seen.length);
    problem(await w.call('GET', `/v1/products?q=lamp&cursor=${full.body.nextCursor ?? 'bad'}`, null), 422, 'validation.failed');
  });
});
