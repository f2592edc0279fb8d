/** `POST /v1/orders` (3 items, an Idempotency-Key each) on postgres (see commerceScenario). */
import { commerceScenario } from './lib-commerce.mjs';

export const { summary, start } = commerceScenario('order', 'postgres');
