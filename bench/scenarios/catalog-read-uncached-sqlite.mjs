/** Public `GET /v1/products/:id` on SQLite with the read cache off (`cache.maxEntries: 0`): every read queries the product. */
import { commerceApp } from './lib-commerce.mjs';

export const summary = 'Plinth GET /v1/products/:id on sqlite, read cache off';

export async function start({ tmpDir }) {
  const app = await commerceApp(tmpDir, 'sqlite', { config: { cache: { maxEntries: 0 } } });
  const paths = app.ids.map((id) => `/v1/products/${id}`);
  return { url: app.url, target: { paths }, sample: { path: paths[0], keys: ['id', 'skus', 'price'] }, close: app.close };
}
