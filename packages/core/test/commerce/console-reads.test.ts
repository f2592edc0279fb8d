/**
 * The reads the admin console needs: orders in a time window, the day's
 * summary (orders placed, revenue net of refunds), a user's sessions as an
 * admin sees them, and the queue/outbox gauges on /metrics.
 */
import { describe, expect, it } from 'vitest';
import type { OrdersService } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld, problem } from './support.js';

describe.each(dialects)('console reads on %s', (dialect) => {
  const h = useHarness();

  async function shop() {
    const w = await commerceWorld(h, dialect);
    await w.product({ name: 'Pen', skus: [{ sku: 'PEN', amount: 250, stock: 100 }] });
    await w.product({ name: 'Import', skus: [{ sku: 'US-ONLY', amount: 900, currency: 'USD', stock: 5 }] });
    return { ...w, orders: w.app.plinth.service<OrdersService>('orders') };
  }

  it('GET /v1/orders/summary: orders placed today by status and revenue of the paid ones, net of refunds', async () => {
    const w = await shop();
    const a = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PEN', quantity: 4 }] })).body;
    const b = (await w.call('POST', '/v1/orders', w.bob, { items: [{ sku: 'PEN', quantity: 2 }] })).body;
    const c = (await w.call('POST', '/v1/orders', w.bob, { items: [{ sku: 'US-ONLY', quantity: 1 }] })).body;
    await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PEN', quantity: 1 }] });
    await w.orders.markPaid(a.id, { paymentId: 'pay_a', amount: { amount: 1000, currency: 'EUR' } });
    await w.orders.markPaid(b.id, { paymentId: 'pay_b', amount: { amount: 500, currency: 'EUR' } });
    await w.orders.markPaid(c.id, { paymentId: 'pay_c', amount: { amount: 900, currency: 'USD' } });
    await w.orders.recordRefund(a.id, { amount: { amount: 300, currency: 'EUR' } });

    const res = await w.call('GET', '/v1/orders/summary', w.staff);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      orders: 4,
      byStatus: { partially_refunded: 1, paid: 2, pending_payment: 1 },
      paidOrders: 3,
      revenue: [
        { amount: 1200, currency: 'EUR' },
        { amount: 900, currency: 'USD' },
      ],
    });
    expect(res.body.since).toMatch(/T00:00:00\.000Z$/);

    // A window before anything happened is empty.
    const empty = await w.call('GET', '/v1/orders/summary?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z', w.admin);
    expect(empty.body).toMatchObject({ orders: 0, byStatus: {}, paidOrders: 0, revenue: [] });

    problem(await w.call('GET', '/v1/orders/summary?since=2020-01-02T00:00:00Z&until=2020-01-01T00:00:00Z', w.admin), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/orders/summary?since=yesterday', w.admin), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/orders/summary', null), 401, 'auth.unauthenticated');
    problem(await w.call('GET', '/v1/orders/summary', w.ann), 403, 'auth.forbidden');
  });

  it('GET /v1/orders?since=&until=: only orders placed in the window', async () => {
    const w = await shop();
    const first = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PEN', quantity: 1 }] })).body;
    await new Promise((r) => setTimeout(r, 20));
    const second = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PEN', quantity: 1 }] })).body;
    const since = encodeURIComponent(second.createdAt);
    const after = await w.call('GET', `/v1/orders?since=${since}`, w.staff);
    expect(after.body.data.map((o: { id: string }) => o.id)).toEqual([second.id]);
    const before = await w.call('GET', `/v1/orders?until=${since}`, w.staff);
    expect(before.body.data.map((o: { id: string }) => o.id)).toEqual([first.id]);
    problem(await w.call('GET', '/v1/orders?since=not-a-time', w.staff), 422, 'validation.failed');
  });

  it('GET /v1/admin/users/:id/sessions: staff and admins see the sessions of a user; customers may not', async () => {
    const w = await shop();
    const res = await w.call('GET', `/v1/admin/users/${w.ann.id}/sessions`, w.staff);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0]).toMatchObject({ authMethod: 'password' });
    expect(res.body.data[0]).not.toHaveProperty('current');
    expect(JSON.stringify(res.body)).not.toMatch(/token|hash/i);

    const revoked = await w.call('POST', `/v1/admin/users/${w.ann.id}/revoke-sessions`, w.admin);
    expect(revoked.body).toEqual({ revoked: 1 });
    expect((await w.call('GET', `/v1/admin/users/${w.ann.id}/sessions`, w.admin)).body.data).toEqual([]);

    problem(await w.call('GET', '/v1/admin/users/nobody/sessions', w.admin), 404, 'access.user_not_found');
    problem(await w.call('GET', `/v1/admin/users/${w.bob.id}/sessions`, w.bob), 403, 'auth.forbidden');
    problem(await w.call('GET', `/v1/admin/users/${w.bob.id}/sessions`, null), 401, 'auth.unauthenticated');
  });

  it('/metrics: queue age and outbox lag gauges', async () => {
    const w = await shop();
    const res = await fetch(`${w.app.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^plinth_outbox_pending \d+$/m);
    expect(text).toMatch(/^plinth_outbox_lag_seconds [\d.e+-]+$/m);
    expect(text).toContain('# TYPE plinth_jobs_oldest_due_age_seconds gauge');
    // Nothing dispatches in this app: the events of the set-up are pending.
    expect(Number(/^plinth_outbox_pending (\d+)$/m.exec(text)![1])).toBeGreaterThan(0);
  });
});
