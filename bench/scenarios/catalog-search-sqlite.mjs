/** Public `GET /v1/products?q=<two words>&limit=20` on sqlite: full-text search ranked by relevance (random word pairs). */
import { commerceApp } from './lib-commerce.mjs';

export const summary = 'Plinth product search on sqlite';
const WORDS = ['wool', 'cotton', 'silk', 'scarf', 'hat', 'socks', 'warm', 'soft', 'winter', 'red'];

export async function start({ tmpDir }) {
  const app = await commerceApp(tmpDir, 'sqlite');
  const paths = [];
  for (const a of WORDS) for (const b of WORDS) if (a !== b) paths.push(`/v1/products?q=${a}%20${b}&limit=20`);
  return {
    url: app.url,
    target: { paths },
    sample: { path: paths[0], keys: ['data', 'nextCursor'] },
    close: app.close,
  };
}
