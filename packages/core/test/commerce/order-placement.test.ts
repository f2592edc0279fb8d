/**
 * What placing an order writes, row by row, on both databases (PostgreSQL places an order in
 * one call of `plinth_orders_place`, SQLite statement by statement): the order, its lines, its
 * reservations, its events (valid against their declared schemas, in emission order) and its
 * expiry job, shaped as `jobs.enqueue` shapes one. And the function's migration, down and up.
 */
import { describe, expect, it } from 'vitest';
import { builtinModules, type OrdersService } from '../../src/index.js';
import { ordersEvents } from '../../src/modules/orders/index.js';
import { ORDER_EXPIRE_JOB } from '../../src/modules/orders/service.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld } from './support.js';

const system = { actor: { kind: 'system' as const, name: 'test' } };

describe.each(dialects)('placing an order on %s', (dialect) => {
  const h = useHarness();

  it('writes the order, its lines, reservations, events and expiry job', async () => {
    const w = await commerceWorld(h, dialect);
    const product = await w.call('POST', '/v1/products', w.staff, {
      name: 'Lamp',
      skus: [
        { sku: 'LAMP-S', name: 'small', price: { amount: 1500, currency: 'EUR' } },
        { sku: 'LAMP-L', price: { amount: 2500, currency: 'EUR' } },
      ],
    });
    expect(product.status).toBe(201);
    for (const sku of ['LAMP-S', 'LAMP-L']) await w.call('POST', `/v1/inventory/${sku}/adjustments`, w.staff, { delta: 10, reason: 'receipt' });
    await w.call('PATCH', '/v1/inventory/LAMP-S', w.staff, { lowStockThreshold: 9 });
    const outboxBefore = (await w.app.plinth.db.selectFrom('plinth_outbox').select('id').execute()).length;

    const res = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'LAMP-S', quantity: 2 }, { sku: 'LAMP-L', quantity: 1 }] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const order = res.body;
    expect(order).toMatchObject({
      userId: w.ann.id,
      status: 'pending_payment',
      items: [
        { sku: 'LAMP-L', productId: product.body.id, name: 'Lamp', quantity: 1, unitPrice: { amount: 2500, currency: 'EUR' }, total: { amount: 2500, currency: 'EUR' } },
        { sku: 'LAMP-S', productId: product.body.id, name: 'Lamp (small)', quantity: 2, unitPrice: { amount: 1500, currency: 'EUR' }, total: { amount: 3000, currency: 'EUR' } },
      ],
      total: { amount: 5500, currency: 'EUR' },
      version: 1,
    });
    // What is read back is what was answered.
    expect((await w.call('GET', `/v1/orders/${order.id}`, w.ann)).body).toEqual(order);

    const db = w.app.plinth.db;
    const reservations = await db.selectFrom('inventory_reservations').select(['sku', 'quantity', 'status', 'expires_at']).where('reference', '=', order.id).orderBy('sku').execute();
    expect(reservations.map((r) => ({ ...r, quantity: Number(r.quantity) }))).toEqual([
      { sku: 'LAMP-L', quantity: 1, status: 'active', expires_at: order.expiresAt },
      { sku: 'LAMP-S', quantity: 2, status: 'active', expires_at: order.expiresAt },
    ]);

    // Events in emission order: the low-stock warning of the reservation, then the order's.
    const events = (await db.selectFrom('plinth_outbox').select(['type', 'aggregate_type', 'aggregate_id', 'payload', 'created_at']).orderBy('id').execute()).slice(outboxBefore);
    expect(events.map((e) => [e.type, e.aggregate_type, e.aggregate_id])).toEqual([
      ['inventory.low_stock', 'sku', 'LAMP-S'],
      ['order.created', 'order', order.id],
    ]);
    expect(w.app.plinth.storage.fromJson(events[0]!.payload)).toEqual({ sku: 'LAMP-S', available: 8, threshold: 9 });
    const created = w.app.plinth.storage.fromJson(events[1]!.payload);
    expect(created).toEqual({
      id: order.id,
      userId: w.ann.id,
      total: { amount: 5500, currency: 'EUR' },
      items: [{ sku: 'LAMP-L', quantity: 1 }, { sku: 'LAMP-S', quantity: 2 }],
      expiresAt: order.expiresAt,
    });
    expect(ordersEvents['order.created'].parse(created)).toEqual(created);

    // The expiry job, as `jobs.enqueue` makes one for the same deadline.
    const columns = ['type', 'queue', 'state', 'payload', 'priority', 'run_at', 'attempts', 'max_attempts', 'unique_key', 'ordering_key', 'locked_by'] as const;
    const job = await db.selectFrom('plinth_jobs').select(columns).where('type', '=', ORDER_EXPIRE_JOB).executeTakeFirstOrThrow();
    const reference = await w.app.plinth.jobs.enqueue(ORDER_EXPIRE_JOB, { orderId: order.id }, { runAt: order.expiresAt });
    const expected = await db.selectFrom('plinth_jobs').select(columns).where('id', '=', reference.id).executeTakeFirstOrThrow();
    expect(job).toEqual(expected);
    expect(w.app.plinth.storage.fromJson(job.payload)).toEqual({ orderId: order.id });
  });

  it('its migration goes down and up again (orders/0003-orders-place-function)', async () => {
    const { url } = await h.database(dialect);
    const builtins = builtinModules.filter((m) => ['audit', 'identity', 'access', 'catalog', 'inventory', 'orders'].includes(m.name));
    const plinth = h.plinth(url, { builtins });
    await plinth.start();
    const placed = await h.plinth(url, { builtins }); // a second instance keeps its connections across the change
    await placed.start();
    const catalog = plinth.service<any>('catalog');
    await catalog.createProduct({ name: 'Cup', skus: [{ sku: 'CUP', price: { amount: 700, currency: 'EUR' } }] }, system);
    await plinth.service<any>('inventory').adjust('CUP', { delta: 5, reason: 'receipt' }, system);
    const order = () => placed.service<OrdersService>('orders').createOrder({ items: [{ sku: 'CUP', quantity: 1 }] }, system);
    const functions = async () =>
      dialect === 'postgres' ? Number((await plinth.db.selectFrom('pg_proc').select((eb) => eb.fn.countAll().as('n')).where('proname', '=', 'plinth_orders_place').executeTakeFirstOrThrow()).n) : 0;

    expect((await order()).total).toEqual({ amount: 700, currency: 'EUR' });
    expect(await functions()).toBe(dialect === 'postgres' ? 1 : 0);
    expect(await plinth.migrator.down(1)).toEqual({ ids: ['orders/0003-orders-place-function'] });
    expect(await functions()).toBe(0);
    expect(await plinth.migrator.up()).toEqual({ ids: ['orders/0003-orders-place-function'] });
    expect(await functions()).toBe(dialect === 'postgres' ? 1 : 0);
    expect((await order()).total).toEqual({ amount: 700, currency: 'EUR' });
    expect((await plinth.service<any>('inventory').getStock('CUP', system)).reserved).toBe(2);
  });
});
