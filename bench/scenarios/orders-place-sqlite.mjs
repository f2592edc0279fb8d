/** `POST /v1/orders` (3 items, an Idempotency-Key each) on sqlite (see commerceScenario). */
import { commerceScenario } from './lib-commerce.mjs';

export const { summary, start } = commerceScenario('order', 'sqlite');
