/** Public `GET /v1/products` with a filter and a sort on sqlite (see commerceScenario). */
import { commerceScenario } from './lib-commerce.mjs';

export const { summary, start } = commerceScenario('list', 'sqlite');
