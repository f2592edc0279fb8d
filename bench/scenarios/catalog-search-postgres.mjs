/** Public product search (`?q=`) on postgres (see commerceScenario). */
import { commerceScenario } from './lib-commerce.mjs';

export const { summary, start } = commerceScenario('search', 'postgres');
