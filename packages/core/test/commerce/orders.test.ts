/**
 * Order routes over real HTTP: creation priced by the server, reservations,
 * the state machine, visibility (a customer never learns of others' orders),
 * optimistic concurrency, and the payments seam of the service.
 */
import { describe, expect, it } from 'vitest';
import type { OrdersService } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { as, system } from '../access/support.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld, problem } from './support.js';

describe.each(dialects)('orders on %s', (dialect) => {
  const h = useHarness();

  async function shop() {
    const w = await commerceWorld(h, dialect);
    await w.product({ name: 'Pen', skus: [{ sku: 'PEN-BLUE', amount: 250, stock: 100 }, { sku: 'PEN-RED', amount: 300, stock: 100 }] });
    await w.product({ name: 'Pad', skus: [{ sku: 'PAD', amount: 1000, stock: 5 }] });
    await w.product({ name: 'Import', skus: [{ sku: 'US-ONLY', amount: 900, currency: 'USD', stock: 5 }] });
    const stock = async (sku: string) => (await w.call('GET', `/v1/inventory/${sku}`, w.staff)).body;
    const orders = w.app.plinth.service<OrdersService>('orders');
    return { ...w, stock, orders };
  }

  it('POST /v1/orders: the server prices the items from the catalog and reserves their stock', async () => {
    const w = await shop();
    const res = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PEN-RED', quantity: 2 }, { sku: 'PAD', quantity: 1 }, { sku: 'PEN-RED', quantity: 1 }] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      userId: w.ann.id,
      status: 'pending_payment',
      version: 1,
      items: [
        { sku: 'PAD', name: 'Pad', quantity: 1, unitPrice: { amount: 1000, currency: 'EUR' }, total: { amount: 1000, currency: 'EUR' } },
        { sku: 'PEN-RED', name: 'Pen', quantity: 3, unitPrice: { amount: 300, currency: 'EUR' }, total: { amount: 900, currency: 'EUR' } },
      ],
      subtotal: { amount: 1900, currency: 'EUR' },
      discount: { amount: 0, currency: 'EUR' },
      tax: { amount: 0, currency: 'EUR' },
      total: { amount: 1900, currency: 'EUR' },
      refunded: { amount: 0, currency: 'EUR' },
    });
    expect(Date.parse(res.body.expiresAt) - Date.parse(res.body.createdAt)).toBe(30 * 60_000);
    expect(await w.stock('PEN-RED')).toMatchObject({ onHand: 100, reserved: 3, available: 97 });
    expect((await w.events('order.created')).map((e) => e.aggregate_id)).toEqual([res.body.id]);

    // Client-sent prices are refused, not ignored.
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 1, price: { amount: 1, currency: 'EUR' } }] }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 1 }], total: 1 }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [] }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 0 }] }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 1001 }] }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/orders', null, { items: [{ sku: 'PAD', quantity: 1 }] }), 401, 'auth.unauthenticated');
    const nobody = await w.person([]);
    problem(await w.call('POST', '/v1/orders', nobody, { items: [{ sku: 'PAD', quantity: 1 }] }), 403, 'auth.forbidden');
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'GHOST', quantity: 1 }] }), 422, 'orders.unknown_sku');
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 1 }, { sku: 'US-ONLY', quantity: 1 }] }), 422, 'orders.mixed_currencies');
    const short = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PEN-BLUE', quantity: 1 }, { sku: 'PAD', quantity: 5 }] });
    problem(short, 409, 'orders.insufficient_stock');
    expect(short.body.sku).toBe('PAD');
    // The refused orders changed nothing: the blue pen reserved before PAD ran out is back.
    expect(await w.stock('PEN-BLUE')).toMatchObject({ reserved: 0, available: 100 });
    expect(await w.stock('PAD')).toMatchObject({ reserved: 1, available: 4 });
    expect((await w.events('order.created')).length).toBe(1);
    const pad = (await w.call('GET', '/v1/products?q=pad', null)).body.data[0];
    await w.call('DELETE', `/v1/products/${pad.id}`, w.staff);
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 1 }] }), 422, 'orders.unknown_sku');
  });

  it('GET /v1/orders and /v1/orders/:id: customers see only their own (others are 404), staff see all', async () => {
    const w = await shop();
    const mine = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PEN-BLUE', quantity: 1 }] })).body;
    const bobs = (await w.call('POST', '/v1/orders', w.bob, { items: [{ sku: 'PEN-RED', quantity: 1 }] })).body;
    expect((await w.call('GET', `/v1/orders/${mine.id}`, w.ann)).body.id).toBe(mine.id);
    problem(await w.call('GET', `/v1/orders/${bobs.id}`, w.ann), 404, 'orders.not_found');
    problem(await w.call('GET', '/v1/orders/missing', w.ann), 404, 'orders.not_found');
    problem(await w.call('GET', `/v1/orders/${mine.id}`, null), 401, 'auth.unauthenticated');
    const nobody = await w.person([]);
    problem(await w.call('GET', `/v1/orders/${mine.id}`, nobody), 403, 'auth.forbidden');
    expect((await w.call('GET', `/v1/orders/${bobs.id}`, w.staff)).body.userId).toBe(w.bob.id);

    expect((await w.call('GET', '/v1/orders', w.ann)).body.data.map((o: any) => o.id)).toEqual([mine.id]);
    // A customer's userId filter cannot widen the view.
    expect((await w.call('GET', `/v1/orders?userId=${w.bob.id}`, w.ann)).body.data.map((o: any) => o.id)).toEqual([mine.id]);
    expect((await w.call('GET', '/v1/orders', w.staff)).body.data.map((o: any) => o.id)).toEqual([bobs.id, mine.id]);
    expect((await w.call('GET', `/v1/orders?userId=${w.bob.id}`, w.staff)).body.data.map((o: any) => o.id)).toEqual([bobs.id]);
    const page = await w.call('GET', '/v1/orders?limit=1', w.staff);
    expect(page.body.data.map((o: any) => o.id)).toEqual([bobs.id]);
    expect((await w.call('GET', `/v1/orders?limit=1&cursor=${page.body.nextCursor}`, w.staff)).body).toMatchObject({ data: [{ id: mine.id }], nextCursor: null });
    expect((await w.call('GET', '/v1/orders?status=paid', w.staff)).body.data).toEqual([]);
    problem(await w.call('GET', '/v1/orders?status=lost', w.staff), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/orders', null), 401, 'auth.unauthenticated');
    problem(await w.call('GET', '/v1/orders', nobody), 403, 'auth.forbidden');
  });

  it('POST /v1/orders/:id/cancel releases the stock; a second cancel is an invalid transition', async () => {
    const w = await shop();
    const order = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 2 }] })).body;
    expect(await w.stock('PAD')).toMatchObject({ reserved: 2 });
    problem(await w.call('POST', `/v1/orders/${order.id}/cancel`, w.bob), 404, 'orders.not_found');
    problem(await w.call('POST', `/v1/orders/${order.id}/cancel`, null), 401, 'auth.unauthenticated');
    problem(await w.call('POST', `/v1/orders/${order.id}/cancel`, w.ann, { version: 'one' }), 422, 'validation.failed');
    problem(await w.call('POST', `/v1/orders/${order.id}/cancel`, w.ann, { version: 7 }), 409, 'orders.version_conflict');
    problem(await w.call('POST', '/v1/orders/missing/cancel', w.ann), 404, 'orders.not_found');
    const cancelled = await w.call('POST', `/v1/orders/${order.id}/cancel`, w.ann, { version: 1 });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', version: 2, expiresAt: null });
    expect(cancelled.body.cancelledAt).toBeTruthy();
    expect(await w.stock('PAD')).toMatchObject({ onHand: 5, reserved: 0, available: 5 });
    problem(await w.call('POST', `/v1/orders/${order.id}/cancel`, w.ann), 409, 'orders.invalid_transition');
    expect((await w.events('order.cancelled')).map((e) => e.payload.released)).toEqual([[{ sku: 'PAD', quantity: 2 }]]);
    // Staff may cancel anyone's order, audited.
    const other = (await w.call('POST', '/v1/orders', w.bob, { items: [{ sku: 'PAD', quantity: 1 }] })).body;
    expect((await w.call('POST', `/v1/orders/${other.id}/cancel`, w.staff, undefined, { 'if-match': '"1"' })).body.status).toBe('cancelled');
    const audit = await w.app.plinth.db.selectFrom('audit_events').select(['actor_id']).where('action', '=', 'orders.order.cancelled').where('target_id', '=', other.id).execute();
    expect(audit).toEqual([{ actor_id: w.staff.id }]);
  });

  it('payments seam and POST /v1/orders/:id/fulfil: paid commits stock, fulfil is staff-only, refunds move the state on', async () => {
    const w = await shop();
    const order = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 2 }] })).body;
    problem(await w.call('POST', `/v1/orders/${order.id}/fulfil`, w.staff), 409, 'orders.invalid_transition');
    expect(await w.orders.payable(order.id)).toMatchObject({ status: 'pending_payment', total: { amount: 2000, currency: 'EUR' } });
    await expect(w.orders.markPaid(order.id, { paymentId: 'pay_1', amount: { amount: 1999, currency: 'EUR' } })).rejects.toMatchObject({ code: 'orders.amount_mismatch', status: 422 });
    await expect(w.orders.markPaid(order.id, { paymentId: 'pay_1', amount: { amount: 2000, currency: 'USD' } })).rejects.toMatchObject({ code: 'orders.amount_mismatch' });
    await expect(w.orders.markPaid('missing', { paymentId: 'pay_1', amount: { amount: 2000, currency: 'EUR' } })).rejects.toMatchObject({ code: 'orders.not_found', status: 404 });
    const paid = await w.orders.markPaid(order.id, { paymentId: 'pay_1', amount: { amount: 2000, currency: 'EUR' } });
    expect(paid).toMatchObject({ status: 'paid', paymentId: 'pay_1', version: 2, expiresAt: null });
    expect(await w.stock('PAD')).toMatchObject({ onHand: 3, reserved: 0, available: 3 });
    await expect(w.orders.markPaid(order.id, { paymentId: 'pay_2', amount: { amount: 2000, currency: 'EUR' } })).rejects.toMatchObject({ code: 'orders.invalid_transition', status: 409 });
    problem(await w.call('POST', `/v1/orders/${order.id}/cancel`, w.ann), 409, 'orders.invalid_transition');

    problem(await w.call('POST', `/v1/orders/${order.id}/fulfil`, w.ann), 403, 'auth.forbidden');
    problem(await w.call('POST', `/v1/orders/${order.id}/fulfil`, null), 401, 'auth.unauthenticated');
    problem(await w.call('POST', '/v1/orders/missing/fulfil', w.staff), 404, 'orders.not_found');
    problem(await w.call('POST', `/v1/orders/${order.id}/fulfil`, w.staff, { version: 1 }), 409, 'orders.version_conflict');
    problem(await w.call('POST', `/v1/orders/${order.id}/fulfil`, w.staff, { version: 2, note: 'x' }), 422, 'validation.failed');
    const fulfilled = await w.call('POST', `/v1/orders/${order.id}/fulfil`, w.staff, { version: 2 });
    expect(fulfilled.body).toMatchObject({ status: 'fulfilled', version: 3 });
    problem(await w.call('POST', `/v1/orders/${order.id}/fulfil`, w.staff), 409, 'orders.invalid_transition');

    const partial = await w.orders.recordRefund(order.id, { amount: { amount: 500, currency: 'EUR' } }, as(system));
    expect(partial).toMatchObject({ status: 'partially_refunded', refunded: { amount: 500, currency: 'EUR' } });
    await expect(w.orders.recordRefund(order.id, { amount: { amount: 1501, currency: 'EUR' } })).rejects.toMatchObject({ code: 'orders.refund_exceeds_paid', status: 422 });
    await expect(w.orders.recordRefund(order.id, { amount: { amount: 0, currency: 'EUR' } })).rejects.toMatchObject({ code: 'orders.amount_mismatch' });
    const full = await w.orders.recordRefund(order.id, { amount: { amount: 1500, currency: 'EUR' }, restock: true });
    expect(full).toMatchObject({ status: 'refunded', refunded: { amount: 2000, currency: 'EUR' } });
    expect(await w.stock('PAD')).toMatchObject({ onHand: 5, reserved: 0 });
    await expect(w.orders.recordRefund(order.id, { amount: { amount: 1, currency: 'EUR' } })).rejects.toMatchObject({ code: 'orders.refund_exceeds_paid' });
    expect((await w.events('order.paid')).map((e) => e.payload.paymentId)).toEqual(['pay_1']);
    expect((await w.events('order.fulfilled')).length).toBe(1);
    expect((await w.events('order.refunded')).map((e) => e.payload.status)).toEqual(['partially_refunded', 'refunded']);
  });

  it('unpaid orders expire: their stock is released and order.expired is emitted; paying them then is refused', async () => {
    const w = await shop();
    const order = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PAD', quantity: 3 }] })).body;
    const paidOne = (await w.call('POST', '/v1/orders', w.bob, { items: [{ sku: 'PAD', quantity: 1 }] })).body;
    await w.orders.markPaid(paidOne.id, { paymentId: 'pay_b', amount: paidOne.total });
    const deadline = Date.parse(order.expiresAt);
    expect(await w.orders.expireDueOrders(deadline - 1)).toBe(0);
    expect(await w.stock('PAD')).toMatchObject({ onHand: 4, reserved: 3 });
    expect(await w.orders.expireDueOrders(deadline)).toBe(1);
    expect(await w.stock('PAD')).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
    expect((await w.call('GET', `/v1/orders/${order.id}`, w.ann)).body).toMatchObject({ status: 'expired', version: 2, expiresAt: null });
    expect((await w.call('GET', `/v1/orders/${paidOne.id}`, w.bob)).body.status).toBe('paid');
    expect((await w.events('order.expired')).map((e) => [e.aggregate_id, e.payload.released])).toEqual([[order.id, [{ sku: 'PAD', quantity: 3 }]]]);
    expect(await w.orders.expireDueOrders(deadline + 60_000)).toBe(0); // nothing twice
    await expect(w.orders.markPaid(order.id, { paymentId: 'late', amount: order.total })).rejects.toMatchObject({ code: 'orders.invalid_transition' });
    problem(await w.call('POST', `/v1/orders/${order.id}/cancel`, w.ann), 409, 'orders.invalid_transition');
  });
});
