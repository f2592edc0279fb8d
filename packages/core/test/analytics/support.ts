/**
 * A small shop for analytics tests: the built-in modules on a fresh database,
 * payments through the fake provider delivered in process, a worker that
 * applies the outbox to the rollups, and helpers that act through the services.
 */
import { expect } from 'vitest';
import {
  type Actor, type AnalyticsService, builtinModules, type Caller, type CatalogService, type Clock, createFakeProvider, createPaymentsModule, createWorker,
  type CreatePlinthOptions, type InventoryService, type Order, type OrdersService, type PaymentsService,
} from '../../src/index.js';
import type { TestDatabase, TestDialect } from '../../src/testing/index.js';
import type { AccessService } from '../../src/modules/access/service.js';
import { as } from '../access/support.js';
import { signUp, startApp, type TestApp } from '../support/app.js';
import type { Harness } from '../support/harness.js';

export interface Shop {
  app: TestApp;
  analytics: AnalyticsService;
  staff: Caller & { token: string };
  customer(): Promise<Caller & { id: string; token: string }>;
  product(input: { categoryId?: string | undefined; price?: number; currency?: string; stock?: number; threshold?: number }): Promise<{ id: string; sku: string }>;
  category(name: string): Promise<string>;
  order(who: Caller, items: { sku: string; quantity: number }[]): Promise<Order>;
  pay(orderId: string, who: Caller): Promise<void>;
  refund(orderId: string, amount: number, currency?: string): Promise<void>;
  /** Runs a worker until every due job (dispatch and rollups) is done. */
  settle(): Promise<void>;
  /** Every rollup row, sorted: for comparisons. */
  rollups(): Promise<string[]>;
  activeUsers(): Promise<string[]>;
}

let n = 0;

export async function openShop(h: Harness, dialect: TestDialect, options: CreatePlinthOptions & { clock?: Clock; db?: TestDatabase; decline?: (orderId: string) => boolean } = {}): Promise<Shop> {
  const { decline, ...rest } = options;
  const fake = createFakeProvider({ delivery: 'in-process', confirmAfterMs: 0, scenario: ({ orderId }) => (decline?.(orderId) ? 'decline' : 'succeed') });
  const app = await startApp(h, dialect, {
    builtins: builtinModules.map((m) => (m.name === 'payments' ? createPaymentsModule({ providers: { fake } }) : m)),
    ...rest,
  });
  const plinth = app.plinth;
  const access = plinth.service<AccessService>('access');
  const person = async (roles?: string[]) => {
    const signed = await signUp(app, `a${++n}-${Date.now()}@example.com`);
    let token = signed.accessToken as string;
    if (roles) {
      await access.setRoles(signed.user.id, roles, as({ kind: 'system', name: 'test' }));
      token = (await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: signed.refreshToken } })).body.accessToken;
    }
    const actor: Actor = { kind: 'user', userId: signed.user.id, sessionId: 'test', roles: roles ?? ['customer'] };
    return { actor, id: signed.user.id as string, token };
  };
  const staff = await person(['staff']);
  return {
    app,
    analytics: plinth.service<AnalyticsService>('analytics'),
    staff,
    customer: () => person(),
    async category(name) {
      return (await plinth.service<CatalogService>('catalog').createCategory({ name, slug: `${name.toLowerCase()}-${++n}` }, staff)).id;
    },
    async product({ categoryId, price = 1000, currency = 'EUR', stock = 100, threshold }) {
      const sku = `SKU-${++n}-${Date.now()}`;
      const product = await plinth.service<CatalogService>('catalog').createProduct(
        { name: `Product ${n}`, ...(categoryId ? { categoryId } : {}), skus: [{ sku, price: { amount: price, currency } }] },
        staff,
      );
      const inventory = plinth.service<InventoryService>('inventory');
      await inventory.adjust(sku, { delta: stock, reason: 'receipt' }, staff);
      if (threshold !== undefined) await inventory.setLowStockThreshold(sku, threshold, staff);
      return { id: product.id, sku };
    },
    order: (who, items) => plinth.service<OrdersService>('orders').createOrder({ items }, who),
    async pay(orderId, who) {
      await plinth.service<PaymentsService>('payments').createPayment(orderId, who);
      await fake.idle();
    },
    async refund(orderId, amount, currency = 'EUR') {
      await plinth.service<PaymentsService>('payments').refund(orderId, { amount: { amount, currency }, restock: false }, staff);
    },
    async settle() {
      const worker = createWorker(plinth, { concurrency: 4 });
      await worker.start();
      try {
        await worker.drain({ timeoutMs: 60_000 });
      } finally {
        await worker.stop();
      }
    },
    async rollups() {
      const rows = (await plinth.db.selectFrom('analytics_rollups').selectAll().execute()) as { grain: string; bucket: string; metric: string; dim: string; value: unknown }[];
      return rows.map((r) => `${r.grain} ${r.bucket} ${r.metric} ${r.dim} ${Number(r.value)}`).sort();
    },
    async activeUsers() {
      const rows = (await plinth.db.selectFrom('analytics_active_users').selectAll().execute()) as { day: string; user_id: string }[];
      return rows.map((r) => `${r.day} ${r.user_id}`).sort();
    },
  };
}

/** Every analytics event in the outbox, oldest first, as the dispatcher hands them over. */
export async function outboxEvents(app: TestApp): Promise<{ id: string; type: string; payload: unknown; createdAt: string }[]> {
  const { ANALYTICS_EVENTS } = await import('../../src/index.js');
  const rows = (await app.plinth.db.selectFrom('plinth_outbox').select(['id', 'type', 'payload', 'created_at']).where('type', 'in', [...ANALYTICS_EVENTS]).orderBy('id').execute()) as {
    id: string; type: string; payload: unknown; created_at: unknown;
  }[];
  return rows.map((r) => ({ id: r.id, type: r.type, payload: app.plinth.storage.fromJson(r.payload), createdAt: new Date(r.created_at as string).toISOString() }));
}

export const expectOk = (res: { status: number; body: unknown }, status = 200) => expect(res.status, JSON.stringify(res.body)).toBe(status);
