/** Public `GET /v1/products/:id` on SQLite with the read cache off (`cache.maxEntries: 0`): every read queries the product. */
import { commerceScenario } from './lib-commerce.mjs';

export const { summary, start } = commerceScenario('read', 'sqlite', { label: ', read cache off', config: { cache: { maxEntries: 0 } } });
