/** Public `GET /v1/products?categoryId=&minPrice=&sort=price&limit=20` on postgres: a filtered, sorted page (a random category per request). */
import { commerceApp } from './lib-commerce.mjs';

export const summary = 'Plinth GET /v1/products with a filter on postgres';

export async function start({ tmpDir }) {
  const app = await commerceApp(tmpDir, 'postgres');
  const paths = app.categories.map((id) => `/v1/products?categoryId=${id}&minPrice=1000&sort=price&limit=20`);
  return {
    url: app.url,
    target: { paths },
    sample: { path: paths[0], keys: ['data', 'nextCursor'] },
    close: app.close,
  };
}
