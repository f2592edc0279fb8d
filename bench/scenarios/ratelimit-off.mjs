/**
 * The rate-limit pair's baseline: public `GET /v1/products/:id` on SQLite (cached reads),
 * rate limiting off. `ratelimit-redis` is the same with the Redis limiter on.
 */
import { commerceApp } from './lib-commerce.mjs';

export const summary = 'Plinth GET /v1/products/:id on sqlite, rate limiting off';

export async function start({ tmpDir }) {
  const app = await commerceApp(tmpDir, 'sqlite', { products: 200, config: { rateLimit: { enabled: false } } });
  const paths = app.ids.map((id) => `/v1/products/${id}`);
  return { url: app.url, target: { paths }, sample: { path: paths[0], keys: ['id', 'skus', 'price'] }, close: app.close };
}
