/**
 * Inventory routes over real HTTP: stock per SKU, adjustments with reasons
 * (recorded, audited, evented), thresholds and `inventory.low_stock`.
 */
import { describe, expect, it } from 'vitest';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld, problem } from './support.js';

describe.each(dialects)('inventory on %s', (dialect) => {
  const h = useHarness();

  it('GET /v1/inventory/:sku and POST .../adjustments: staff read and change stock, with a reason', async () => {
    const w = await commerceWorld(h, dialect);
    await w.product({ skus: [{ sku: 'BOLT-1', amount: 10 }] });
    expect((await w.call('GET', '/v1/inventory/BOLT-1', w.staff)).body).toEqual({ sku: 'BOLT-1', onHand: 0, reserved: 0, available: 0, lowStockThreshold: 0, updatedAt: null });

    const received = await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.staff, { delta: 20, reason: 'receipt', note: 'PO 17' });
    expect(received.status).toBe(201);
    expect(received.body).toMatchObject({ sku: 'BOLT-1', delta: 20, reason: 'receipt', note: 'PO 17', actorId: w.staff.id, stock: { onHand: 20, available: 20 } });
    const damaged = await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.staff, { delta: -3, reason: 'damage' });
    expect(damaged.body.stock).toMatchObject({ onHand: 17, reserved: 0, available: 17 });
    expect((await w.call('GET', '/v1/inventory/BOLT-1', w.staff)).body).toMatchObject({ onHand: 17, available: 17 });

    // Never below zero: removing more than is available changes nothing.
    problem(await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.staff, { delta: -18, reason: 'correction' }), 409, 'inventory.insufficient_stock');
    problem(await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.staff, { delta: -1, reason: 'receipt' }), 422, 'inventory.invalid_delta');
    problem(await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.staff, { delta: 1, reason: 'damage' }), 422, 'inventory.invalid_delta');
    problem(await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.staff, { delta: 0, reason: 'correction' }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.staff, { delta: 1, reason: 'gift' }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.staff, { delta: 1.5, reason: 'correction' }), 422, 'validation.failed');
    problem(await w.call('POST', '/v1/inventory/BOLT-1/adjustments', null, { delta: 1, reason: 'receipt' }), 401, 'auth.unauthenticated');
    problem(await w.call('POST', '/v1/inventory/BOLT-1/adjustments', w.ann, { delta: 1, reason: 'receipt' }), 403, 'auth.forbidden');
    problem(await w.call('POST', '/v1/inventory/NOPE/adjustments', w.staff, { delta: 1, reason: 'receipt' }), 404, 'inventory.sku_not_found');
    problem(await w.call('GET', '/v1/inventory/BOLT-1', null), 401, 'auth.unauthenticated');
    problem(await w.call('GET', '/v1/inventory/BOLT-1', w.ann), 403, 'auth.forbidden');
    problem(await w.call('GET', '/v1/inventory/NOPE', w.staff), 404, 'inventory.sku_not_found');
    expect((await w.call('GET', '/v1/inventory/BOLT-1', w.staff)).body.onHand).toBe(17);

    const list = await w.call('GET', '/v1/inventory/BOLT-1/adjustments?limit=1', w.staff);
    expect(list.body.data.map((a: any) => a.delta)).toEqual([-3]);
    const next = await w.call('GET', `/v1/inventory/BOLT-1/adjustments?limit=1&cursor=${list.body.nextCursor}`, w.staff);
    expect(next.body).toMatchObject({ data: [{ delta: 20 }], nextCursor: null });
    problem(await w.call('GET', '/v1/inventory/BOLT-1/adjustments', w.ann), 403, 'auth.forbidden');

    const audit = await w.app.plinth.db.selectFrom('audit_events').select(['action']).where('target_id', '=', 'BOLT-1').execute();
    expect(audit.map((a) => a.action)).toEqual(['inventory.adjusted', 'inventory.adjusted']);
    expect((await w.events('inventory.adjusted')).map((e) => e.payload.delta)).toEqual([20, -3]);
  });

  it('emits inventory.low_stock once when available falls below the threshold', async () => {
    const w = await commerceWorld(h, dialect);
    await w.product({ skus: [{ sku: 'NUT-1', amount: 10, stock: 10 }] });
    const set = await w.call('PATCH', '/v1/inventory/NUT-1', w.staff, { lowStockThreshold: 5 });
    expect(set.body).toMatchObject({ lowStockThreshold: 5, available: 10 });
    problem(await w.call('PATCH', '/v1/inventory/NUT-1', w.staff, { lowStockThreshold: -1 }), 422, 'validation.failed');
    problem(await w.call('PATCH', '/v1/inventory/NUT-1', w.ann, { lowStockThreshold: 1 }), 403, 'auth.forbidden');
    problem(await w.call('PATCH', '/v1/inventory/NOPE', w.staff, { lowStockThreshold: 1 }), 404, 'inventory.sku_not_found');

    const order = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'NUT-1', quantity: 5 }] }); // 10 → 5: not below
    expect(order.status).toBe(201);
    expect(await w.events('inventory.low_stock')).toEqual([]);
    await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'NUT-1', quantity: 1 }] }); // 5 → 4: below
    await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'NUT-1', quantity: 1 }] }); // 4 → 3: still below, no repeat
    await w.call('POST', '/v1/inventory/NUT-1/adjustments', w.staff, { delta: -1, reason: 'damage' }); // 3 → 2: still below
    const events = await w.events('inventory.low_stock');
    expect(events.map((e) => e.payload)).toEqual([{ sku: 'NUT-1', available: 4, threshold: 5 }]);
  });
});
