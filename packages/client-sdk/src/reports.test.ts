import { type AccessService, createWorker } from '@plinth/core';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createClient, isPlinthApiError } from './index.js';
import { startTestApp, type TestApp } from './test-app.js';

describe('the reports routes through the client', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('staff read typed reports and an export; customers are refused', async () => {
    const staff = createClient({ baseUrl: app.url });
    const signed = await staff.signUp({ body: { email: 'analyst@example.com', password: 'correct horse battery' } });
    await app.plinth.service<AccessService>('access').setRoles(signed.user.id, ['staff'], { actor: { kind: 'system', name: 'test' } });
    await staff.refresh({ body: { refreshToken: signed.refreshToken } });
    await staff.createProduct({ body: { name: 'Kettle', skus: [{ sku: 'KETTLE', price: { amount: 4200, currency: 'EUR' } }] } });
    await staff.createAdjustment({ params: { sku: 'KETTLE' }, body: { delta: 5, reason: 'receipt' } });
    const customer = createClient({ baseUrl: app.url });
    await customer.signUp({ body: { email: 'buyer@example.com', password: 'correct horse battery' } });
    await customer.createOrder({ body: { items: [{ sku: 'KETTLE', quantity: 2 }] } });

    const worker = createWorker(app.plinth, { concurrency: 2 });
    await worker.start();
    await worker.drain();
    await worker.stop();

    const today = new Date().toISOString().slice(0, 10);
    const orders = await staff.getOrdersReport({ query: { from: today, to: today } });
    expectTypeOf(orders.totals.created).toEqualTypeOf<number>();
    expect(orders.totals).toMatchObject({ created: 1, paid: 0 });
    const users = await staff.getUsersReport({ query: { from: today, to: today, groupBy: 'day' } });
    expect(users.totals).toEqual({ signups: 2, dau: 2, wau: 2, mau: 2 });
    const sales = await staff.getSalesReport({ query: { from: today, to: today, currency: 'EUR' } });
    expectTypeOf(sales.series[0]!.averageOrderValue).toEqualTypeOf<number | null>();
    expect(sales.totals).toEqual([{ currency: 'EUR', orders: 0, gross: 0, refunds: 0, net: 0, averageOrderValue: null }]);
    const freshness = await staff.getReportsFreshness();
    expect(freshness).toMatchObject({ timezone: 'UTC', rebuildRequired: false });

    const csv = await staff.exportReport({ params: { name: 'orders' }, query: { from: today, to: today } });
    expectTypeOf(csv).toEqualTypeOf<string>();
    expect(csv).toBe(`bucket,metric,dimension,value\r\n${today},orders.created,,1\r\n`);

    const refused = await customer.getSalesReport().catch((e: unknown) => e);
    expect(isPlinthApiError(refused) && refused.code).toBe('auth.forbidden');
    const invalid = await staff.getSalesReport({ query: { from: '2026-05-02', to: '2026-05-01' } }).catch((e: unknown) => e);
    expect(isPlinthApiError(invalid) && invalid.code).toBe('reports.invalid_range');
  });
});
