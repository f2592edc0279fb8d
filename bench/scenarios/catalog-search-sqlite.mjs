/** Public product search (`?q=`) on sqlite (see commerceScenario). */
import { commerceScenario } from './lib-commerce.mjs';

export const { summary, start } = commerceScenario('search', 'sqlite');
