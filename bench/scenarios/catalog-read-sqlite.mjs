/** Public `GET /v1/products/:id` (product, 3 SKUs and their stock) on sqlite: a random product per request. */
import { commerceApp } from './lib-commerce.mjs';

export const summary = 'Plinth GET /v1/products/:id on sqlite';

export async function start({ tmpDir }) {
  const app = await commerceApp(tmpDir, 'sqlite');
  const paths = app.ids.map((id) => `/v1/products/${id}`);
  return {
    url: app.url,
    target: { paths },
    sample: { path: paths[0], keys: ['id', 'skus', 'price'] },
    close: app.close,
  };
}
