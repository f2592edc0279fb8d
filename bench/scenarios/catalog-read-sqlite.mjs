/** Public `GET /v1/products/:id` on sqlite (see commerceScenario). */
import { commerceScenario } from './lib-commerce.mjs';

export const { summary, start } = commerceScenario('read', 'sqlite');
