import type { AccessService } from '@plinth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, isPlinthApiError } from './index.js';
import { startTestApp, type TestApp } from './test-app.js';

describe('the commerce routes through the client', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('staff stock a product, a customer finds it, orders it and cancels the order', async () => {
    const staff = createClient({ baseUrl: app.url });
    const signed = await staff.signUp({ body: { email: 'staff@example.com', password: 'correct horse battery' } });
    await app.plinth.service<AccessService>('access').setRoles(signed.user.id, ['staff'], { actor: { kind: 'system', name: 'test' } });
    await staff.refresh({ body: { refreshToken: signed.refreshToken } });

    const product = await staff.createProduct({ body: { name: 'Teapot', description: 'Cast iron', skus: [{ sku: 'TEAPOT', price: { amount: 3500, currency: 'EUR' } }] } });
    expect(product.price).toEqual({ amount: 3500, currency: 'EUR' });
    const adjusted = await staff.createAdjustment({ params: { sku: 'TEAPOT' }, body: { delta: 4, reason: 'receipt' } });
    expect(adjusted.stock.available).toBe(4);

    const customer = createClient({ baseUrl: app.url });
    await customer.signUp({ body: { email: 'buyer@example.com', password: 'correct horse battery' } });
    const found = await customer.listProducts({ query: { q: 'iron tea' } });
    expect(found.data.map((p) => p.id)).toEqual([product.id]);
    const order = await customer.createOrder({ body: { items: [{ sku: 'TEAPOT', quantity: 3 }] } });
    expect(order).toMatchObject({ status: 'pending_payment', total: { amount: 10_500, currency: 'EUR' } });
    expect((await staff.getStock({ params: { sku: 'TEAPOT' } })).reserved).toBe(3);

    const refused = await customer.createOrder({ body: { items: [{ sku: 'TEAPOT', quantity: 2 }] } }).catch((e: unknown) => e);
    expect(isPlinthApiError(refused) && refused.code).toBe('orders.insufficient_stock');
    const cancelled = await customer.cancelOrder({ params: { id: order.id }, body: { version: order.version } });
    expect(cancelled.status).toBe('cancelled');
    expect((await customer.listOrders()).data.map((o) => o.status)).toEqual(['cancelled']);
    expect((await staff.getStock({ params: { sku: 'TEAPOT' } })).available).toBe(4);
  });
});
