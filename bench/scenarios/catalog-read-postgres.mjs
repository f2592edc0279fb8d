/** Public `GET /v1/products/:id` on postgres (see commerceScenario). */
import { commerceScenario } from './lib-commerce.mjs';

export const { summary, start } = commerceScenario('read', 'postgres');
