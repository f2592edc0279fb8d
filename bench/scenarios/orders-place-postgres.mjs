/**
 * `POST /v1/orders` on postgres: 3 random SKUs per order (priced from the catalog,
 * reserved, written with its items and event in one transaction), a unique
 * `Idempotency-Key` per request, one signed-in customer.
 */
import { commerceApp, orderBodies } from './lib-commerce.mjs';

export const summary = 'Plinth POST /v1/orders (3 items) on postgres';

export async function start({ tmpDir }) {
  const app = await commerceApp(tmpDir, 'postgres');
  const headers = { authorization: `Bearer ${app.token}` };
  const bodies = orderBodies(app.skus);
  return {
    url: app.url,
    target: { path: '/v1/orders', method: 'POST', headers, bodies, uniqueHeader: 'idempotency-key' },
    sample: { path: '/v1/orders', method: 'POST', headers: { ...headers, 'idempotency-key': 'sample-1' }, requestBody: bodies[0], keys: ['id', 'status', 'total'] },
    close: app.close,
  };
}
