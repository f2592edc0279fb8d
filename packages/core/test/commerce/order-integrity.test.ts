/**
 * The rules that must hold under pressure: 50 buyers racing for the last 10
 * units over real HTTP, a rolled-back order leaving no trace, and the periodic
 * expiry check started by `start()` and stopped by `close()`.
 */
import { describe, expect, it } from 'vitest';
import { builtinModules, createOrdersModule, createWorker, type OrdersService, PlinthError } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld, problem } from './support.js';

const count = async (w: { app: { plinth: any } }, table: string) =>
  Number((await w.app.plinth.db.selectFrom(table).select((eb: any) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe.each(dialects)('order integrity on %s', (dialect) => {
  const h = useHarness();

  it('50 concurrent buyers race for the last 10 units: exactly 10 sold, the rest get 409, stock never negative', async () => {
    const w = await commerceWorld(h, dialect, { database: { poolMax: 20 } });
    await w.product({ skus: [{ sku: 'LAST-10', amount: 4200, stock: 10 }] });
    const buyers = [];
    for (let i = 0; i < 50; i++) buyers.push(await w.person());
    const answers = await Promise.all(buyers.map((b) => w.call('POST', '/v1/orders', b, { items: [{ sku: 'LAST-10', quantity: 1 }] })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.code).toBe('orders.insufficient_stock');
    const stock = (await w.call('GET', '/v1/inventory/LAST-10', w.staff)).body;
    expect(stock).toMatchObject({ onHand: 10, reserved: 10, available: 0 });
    expect(await count(w, 'orders')).toBe(10);
    expect((await w.events('order.created')).length).toBe(10);
    // Ten winners, each with one unit reserved under their own order.
    const reservations = await w.app.plinth.db.selectFrom('inventory_reservations').select(['reference', 'quantity']).where('sku', '=', 'LAST-10').execute();
    expect(reservations.map((r: any) => Number(r.quantity))).toEqual(Array(10).fill(1));
    // A staff correction cannot take the reserved units away either.
    problem(await w.call('POST', '/v1/inventory/LAST-10/adjustments', w.staff, { delta: -1, reason: 'correction' }), 409, 'inventory.insufficient_stock');
  });

  it('a rolled-back order leaves no order, no reservation and no event (the pricing hook fails after reserving)', async () => {
    let calls = 0;
    const pricing = () => {
      calls++;
      throw new PlinthError('pricing.coupon_expired', 'The coupon has expired', { status: 422 });
    };
    const builtins = builtinModules.map((m) => (m.name === 'orders' ? createOrdersModule({ pricing }) : m));
    const w = await commerceWorld(h, dialect, { builtins });
    await w.product({ skus: [{ sku: 'ROLL-A', amount: 100, stock: 5 }, { sku: 'ROLL-B', amount: 200, stock: 5 }] });
    const eventsBefore = await count(w, 'plinth_outbox');
    const res = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'ROLL-A', quantity: 2 }, { sku: 'ROLL-B', quantity: 5 }] });
    problem(res, 422, 'pricing.coupon_expired');
    expect(calls).toBe(1); // it ran: after the reservations
    expect(await count(w, 'orders')).toBe(0);
    expect(await count(w, 'order_items')).toBe(0);
    expect(await count(w, 'inventory_reservations')).toBe(0);
    expect(await count(w, 'plinth_outbox')).toBe(eventsBefore);
    for (const sku of ['ROLL-A', 'ROLL-B']) expect((await w.call('GET', `/v1/inventory/${sku}`, w.staff)).body).toMatchObject({ onHand: 5, reserved: 0 });
  });

  it('the pricing hook adds discounts and taxes; an invalid answer is refused', async () => {
    const pricing = (draft: { subtotal: number; items: readonly { sku: string }[] }) =>
      draft.items.some((i) => i.sku === 'BAD-PRICE') ? { discount: draft.subtotal + 1 } : { discount: 100, tax: Math.round((draft.subtotal - 100) * 0.2) };
    const builtins = builtinModules.map((m) => (m.name === 'orders' ? createOrdersModule({ pricing }) : m));
    const w = await commerceWorld(h, dialect, { builtins });
    await w.product({ skus: [{ sku: 'TAXED', amount: 1100, stock: 5 }, { sku: 'BAD-PRICE', amount: 10, stock: 5 }] });
    const res = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'TAXED', quantity: 1 }] });
    expect(res.body).toMatchObject({ subtotal: { amount: 1100 }, discount: { amount: 100 }, tax: { amount: 200 }, total: { amount: 1200, currency: 'EUR' } });
    // A hook answering nonsense is a bug: a generic 500 outside, the code in the log, nothing kept.
    problem(await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'BAD-PRICE', quantity: 1 }] }), 500, 'internal');
    expect(w.app.logs.some((l) => l.includes('orders.invalid_pricing'))).toBe(true);
    expect((await w.call('GET', '/v1/inventory/BAD-PRICE', w.staff)).body.reserved).toBe(0);
  });

  it('an unpaid order is expired by the worker at its deadline (its orders.expire job); a paid one is left alone', async () => {
    const w = await commerceWorld(h, dialect, { jobs: { pollIntervalMs: 50, shutdownTimeoutMs: 2000 } });
    await w.product({ skus: [{ sku: 'TICK', amount: 100, stock: 4 }] });
    const unpaid = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'TICK', quantity: 3 }] })).body;
    const paid = (await w.call('POST', '/v1/orders', w.bob, { items: [{ sku: 'TICK', quantity: 1 }] })).body;
    await w.app.plinth.service<OrdersService>('orders').markPaid(paid.id, { paymentId: 'pay_1', amount: paid.total });
    // Each order committed with a job for its deadline.
    const jobs = (await w.app.plinth.jobs.list({ type: 'orders.expire', limit: 10 })).data;
    expect(jobs.map((j) => [j.state, (j.payload as { orderId: string }).orderId, Date.parse(j.runAt)]).sort()).toEqual(
      [
        ['queued', unpaid.id, Date.parse(unpaid.expiresAt)],
        ['queued', paid.id, Date.parse(paid.expiresAt)],
      ].sort(),
    );
    // Both deadlines pass (as if the minutes had gone by): the jobs are due, the unpaid order is due.
    const past = new Date(Date.now() - 1000).toISOString();
    await w.app.plinth.db.updateTable('orders').set({ expires_at: past }).where('id', '=', unpaid.id).execute();
    await w.app.plinth.db.updateTable('plinth_jobs').set({ run_at: past }).where('type', '=', 'orders.expire').execute();
    expect((await w.call('GET', `/v1/orders/${unpaid.id}`, w.ann)).body.status).toBe('pending_payment');

    const worker = createWorker(w.app.plinth, { concurrency: 2, dispatch: false });
    h.defer(() => worker.stop({ timeoutMs: 1000 }));
    await worker.start();
    await worker.drain({ timeoutMs: 30_000 });

    expect((await w.call('GET', `/v1/orders/${unpaid.id}`, w.ann)).body).toMatchObject({ status: 'expired', expiresAt: null, version: 2 });
    expect((await w.call('GET', `/v1/orders/${paid.id}`, w.bob)).body.status).toBe('paid');
    expect((await w.call('GET', '/v1/inventory/TICK', w.staff)).body).toMatchObject({ reserved: 0, onHand: 3, available: 3 });
    expect((await w.events('order.expired')).map((e) => e.aggregate_id)).toEqual([unpaid.id]);
    const after = (await w.app.plinth.jobs.list({ type: 'orders.expire', limit: 10 })).data;
    expect(after.map((j) => j.state)).toEqual(['completed', 'completed']);
    // The sweep (a cron job once a minute across workers) finds nothing left to do.
    expect(await w.app.plinth.service<OrdersService>('orders').expireDueOrders()).toBe(0);
  });
});
