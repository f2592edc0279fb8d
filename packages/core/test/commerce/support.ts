/**
 * A commerce world for HTTP tests: a real server on a fresh database, with an
 * admin, a staff member, two customers and an API key, all with real tokens.
 */
import { expect } from 'vitest';
import type { CreatePlinthOptions } from '../../src/index.js';
import type { AccessService } from '../../src/modules/access/service.js';
import type { TestDialect } from '../../src/testing/index.js';
import { as, system } from '../access/support.js';
import { signUp, startApp, type TestApp } from '../support/app.js';
import type { Harness } from '../support/harness.js';

export interface Who {
  id: string;
  email: string;
  token: string;
}

export interface CommerceWorld {
  app: TestApp;
  admin: Who;
  staff: Who;
  /** Customers. */
  ann: Who;
  bob: Who;
  /** Signs a new person up (a customer unless roles say otherwise). */
  person(roles?: string[]): Promise<Who>;
  call(method: string, path: string, who?: Who | null, body?: unknown, headers?: Record<string, string>): ReturnType<TestApp['call']>;
  /** Creates an active product through the API (as staff) and receives stock for each SKU. */
  product(input?: { name?: string; description?: string; categoryId?: string; skus?: { sku: string; amount: number; currency?: string; stock?: number }[] }): Promise<any>;
  /** Outbox events of a type, oldest first. */
  events(type: string): Promise<{ aggregate_id: string; payload: any }[]>;
}

let counter = 0;

export const problem = (res: { status: number; body: any }, status: number, code: string) => {
  expect({ status: res.status, code: res.body?.code }, JSON.stringify(res.body)).toEqual({ status, code });
};

export async function commerceWorld(h: Harness, dialect: TestDialect, options: CreatePlinthOptions = {}): Promise<CommerceWorld> {
  const app = await startApp(h, dialect, options);
  const access = app.plinth.service<AccessService>('access');
  const person = async (roles?: string[]): Promise<Who> => {
    const email = `p${++counter}-${Date.now()}@example.com`;
    const signed = await signUp(app, email);
    if (!roles) return { id: signed.user.id, email, token: signed.accessToken };
    await access.setRoles(signed.user.id, roles, as(system));
    const refreshed = await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: signed.refreshToken } });
    expect(refreshed.body.user.roles).toEqual(roles);
    return { id: signed.user.id, email, token: refreshed.body.accessToken };
  };
  const [admin, staff, ann, bob] = [await person(['admin']), await person(['staff']), await person(), await person()];
  const call: CommerceWorld['call'] = (method, path, who, body, headers) =>
    app.call(method, path, { ...(who ? { token: who.token } : {}), ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) });
  return {
    app, admin, staff, ann, bob, person, call,
    async product(input = {}) {
      const n = ++counter;
      const skus = input.skus ?? [{ sku: `SKU-${n}`, amount: 1000, stock: 10 }];
      const res = await call('POST', '/v1/products', staff, {
        name: input.name ?? `Product ${n}`,
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.categoryId ? { categoryId: input.categoryId } : {}),
        skus: skus.map((s) => ({ sku: s.sku, price: { amount: s.amount, currency: s.currency ?? 'EUR' } })),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      for (const s of skus) {
        if (!s.stock) continue;
        const adj = await call('POST', `/v1/inventory/${s.sku}/adjustments`, staff, { delta: s.stock, reason: 'receipt' });
        expect(adj.status, JSON.stringify(adj.body)).toBe(201);
      }
      return res.body;
    },
    async events(type) {
      const rows = (await app.plinth.db.selectFrom('plinth_outbox').select(['aggregate_id', 'payload']).where('type', '=', type).orderBy('id').execute()) as any[];
      return rows.map((r) => ({ aggregate_id: r.aggregate_id, payload: app.plinth.storage.fromJson(r.payload) }));
    },
  };
}
