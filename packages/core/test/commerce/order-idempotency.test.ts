/**
 * POST /v1/orders is an `idempotency: 'transaction'` route: its Idempotency-Key is claimed,
 * the order written and the answer recorded in one transaction. Retries (sequential and
 * concurrent) make one order; a failure leaves neither an order nor a claimed key; a 4xx
 * answer is recorded and replayed. Also: orders of overlapping SKUs racing each other (the
 * reservation is one statement per order) never deadlock and never oversell.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { builtinModules, createOrdersModule, IDEMPOTENCY_TABLE } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { type CommerceWorld, commerceWorld, problem, type Who } from './support.js';

const count = async (w: CommerceWorld, table: string) =>
  Number(((await w.app.plinth.db.selectFrom(table).select((eb: any) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()) as { n: unknown }).n);
const stockOf = async (w: CommerceWorld, sku: string) => (await w.call('GET', `/v1/inventory/${sku}`, w.staff)).body;

describe.each(dialects)('order idempotency on %s', (dialect) => {
  const h = useHarness();

  it('a sequential retry replays the first answer: one order, stock reserved once, one recorded key', async () => {
    const w = await commerceWorld(h, dialect);
    await w.product({ skus: [{ sku: 'IDEM-A', amount: 700, stock: 5 }, { sku: 'IDEM-B', amount: 300, stock: 5 }] });
    const key = randomUUID();
    const body = { items: [{ sku: 'IDEM-B', quantity: 1 }, { sku: 'IDEM-A', quantity: 2 }] };
    const first = await w.call('POST', '/v1/orders', w.ann, body, { 'idempotency-key': key });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.body.total).toEqual({ amount: 1700, currency: 'EUR' });
    const again = await w.call('POST', '/v1/orders', w.ann, body, { 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(again.body).toEqual(first.body);
    expect(await count(w, 'orders')).toBe(1);
    expect(await stockOf(w, 'IDEM-A')).toMatchObject({ onHand: 5, reserved: 2 });
    expect(await stockOf(w, 'IDEM-B')).toMatchObject({ onHand: 5, reserved: 1 });
    const keys = await w.app.plinth.db.selectFrom(IDEMPOTENCY_TABLE).select(['status', 'locked_until']).execute();
    expect(keys).toEqual([{ status: 201, locked_until: null }]);
    expect((await w.events('order.created')).length).toBe(1);
    // The same key with another body is refused and changes nothing.
    const other = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'IDEM-A', quantity: 1 }] }, { 'idempotency-key': key });
    problem(other, 422, 'idempotency.key_reused');
    expect(await count(w, 'orders')).toBe(1);
    // Another customer's identical key is theirs: a new order.
    const bobs = await w.call('POST', '/v1/orders', w.bob, body, { 'idempotency-key': key });
    expect(bobs.status).toBe(201);
    expect(bobs.body.id).not.toBe(first.body.id);
    expect(await count(w, 'orders')).toBe(2);
  });

  it('8 concurrent copies of one order under one key make one order; the others are refused while it runs (409) or replay it', async () => {
    const w = await commerceWorld(h, dialect, { database: { poolMax: 10 } });
    await w.product({ skus: [{ sku: 'RACE-KEY', amount: 1200, stock: 3 }] });
    const key = randomUUID();
    const body = { items: [{ sku: 'RACE-KEY', quantity: 1 }] };
    const answers = await Promise.all(Array.from({ length: 8 }, () => w.call('POST', '/v1/orders', w.ann, body, { 'idempotency-key': key })));
    const ran = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(ran).toHaveLength(1);
    for (const a of answers.filter((x) => x !== ran[0])) {
      if (a.status === 409) problem(a, 409, 'idempotency.in_flight');
      else expect(a, JSON.stringify(a.body)).toMatchObject({ status: 201, body: ran[0]!.body });
    }
    expect(answers.filter((a) => a.status === 409).length, 'at least one copy arrived while the first ran').toBeGreaterThan(0);
    expect(await count(w, 'orders')).toBe(1);
    expect(await stockOf(w, 'RACE-KEY')).toMatchObject({ onHand: 3, reserved: 1, available: 2 });
    expect(await count(w, IDEMPOTENCY_TABLE)).toBe(1);
  });

  it('a 4xx the order raises is recorded and replayed, even once stock is back; a new key then orders', async () => {
    const w = await commerceWorld(h, dialect);
    await w.product({ skus: [{ sku: 'SHORT-1', amount: 900, stock: 1 }] });
    const key = randomUUID();
    const body = { items: [{ sku: 'SHORT-1', quantity: 2 }] };
    const first = await w.call('POST', '/v1/orders', w.ann, body, { 'idempotency-key': key });
    problem(first, 409, 'orders.insufficient_stock');
    expect(first.body).toMatchObject({ sku: 'SHORT-1', requested: 2 });
    const adj = await w.call('POST', '/v1/inventory/SHORT-1/adjustments', w.staff, { delta: 5, reason: 'receipt' });
    expect(adj.status).toBe(201);
    const again = await w.call('POST', '/v1/orders', w.ann, body, { 'idempotency-key': key });
    problem(again, 409, 'orders.insufficient_stock');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(again.body).toEqual(first.body);
    expect(await count(w, 'orders')).toBe(0);
    const fresh = await w.call('POST', '/v1/orders', w.ann, body, { 'idempotency-key': randomUUID() });
    expect(fresh.status).toBe(201);
    expect(await stockOf(w, 'SHORT-1')).toMatchObject({ onHand: 6, reserved: 2 });
  });

  it('a crash inside the order leaves no order, no reservation and no claimed key: the retry runs', async () => {
    let fail = true;
    const pricing = () => {
      if (fail) throw new Error('the tax service is down');
      return { tax: 10 };
    };
    const builtins = builtinModules.map((m) => (m.name === 'orders' ? createOrdersModule({ pricing }) : m));
    const w = await commerceWorld(h, dialect, { builtins });
    await w.product({ skus: [{ sku: 'CRASH-1', amount: 100, stock: 4 }] });
    const key = randomUUID();
    const body = { items: [{ sku: 'CRASH-1', quantity: 3 }] };
    const crashed = await w.call('POST', '/v1/orders', w.ann, body, { 'idempotency-key': key });
    expect(crashed.status).toBe(500);
    expect(await count(w, 'orders')).toBe(0);
    expect(await count(w, 'inventory_reservations')).toBe(0);
    expect(await count(w, IDEMPOTENCY_TABLE)).toBe(0);
    expect(await stockOf(w, 'CRASH-1')).toMatchObject({ onHand: 4, reserved: 0 });
    fail = false;
    const retry = await w.call('POST', '/v1/orders', w.ann, body, { 'idempotency-key': key });
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.body.total).toEqual({ amount: 310, currency: 'EUR' });
    expect(await stockOf(w, 'CRASH-1')).toMatchObject({ onHand: 4, reserved: 3 });
  });

  it('a body that fails validation records nothing: the key still works', async () => {
    const w = await commerceWorld(h, dialect);
    await w.product({ skus: [{ sku: 'VAL-1', amount: 100, stock: 4 }] });
    const key = randomUUID();
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'VAL-1', quantity: 0 }] }, { 'idempotency-key': key }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'VAL-1', quantity: 1 }] }, { 'idempotency-key': 'k'.repeat(300) }), 400, 'idempotency.invalid_key');
    expect(await count(w, IDEMPOTENCY_TABLE)).toBe(0);
    const ok = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'VAL-1', quantity: 1 }] }, { 'idempotency-key': key });
    expect(ok.status).toBe(201);
  });

  it('orders of overlapping SKUs racing each other never deadlock and never oversell', async () => {
    const w = await commerceWorld(h, dialect, { database: { poolMax: 10 } });
    await w.product({ skus: ['OV-A', 'OV-B', 'OV-C', 'OV-D'].map((sku) => ({ sku, amount: 100, stock: 12 })) });
    const buyers: Who[] = [];
    for (let i = 0; i < 6; i++) buyers.push(await w.person());
    // Each order takes 3 of the 4 SKUs, listed in different orders: 24 orders want 18 units of each SKU, only 12 exist.
    const shapes = [['OV-A', 'OV-B', 'OV-C'], ['OV-D', 'OV-C', 'OV-B'], ['OV-C', 'OV-A', 'OV-D'], ['OV-B', 'OV-D', 'OV-A']];
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        w.call('POST', '/v1/orders', buyers[i % buyers.length], { items: shapes[i % shapes.length]!.map((sku) => ({ sku, quantity: 1 })) }, { 'idempotency-key': randomUUID() }),
      ),
    );
    for (const a of answers) expect([201, 409], JSON.stringify(a.body)).toContain(a.status);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.code).toBe('orders.insufficient_stock');
    const sold = answers.filter((a) => a.status === 201);
    expect(sold.length).toBeGreaterThanOrEqual(12); // at least until the first SKU runs out
    const wanted = new Map<string, number>();
    for (const a of sold) for (const item of a.body.items) wanted.set(item.sku, (wanted.get(item.sku) ?? 0) + item.quantity);
    for (const sku of ['OV-A', 'OV-B', 'OV-C', 'OV-D']) {
      const stock = await stockOf(w, sku);
      expect(stock.reserved).toBe(wanted.get(sku) ?? 0);
      expect(stock.reserved).toBeLessThanOrEqual(12);
      expect(stock.available).toBeGreaterThanOrEqual(0);
    }
    expect(await count(w, 'orders')).toBe(sold.length);
    expect(await count(w, 'inventory_reservations')).toBe(sold.length * 3);
  });
});
