/** `analytics.rebuild()` on sqlite over the events of BENCH_ANALYTICS_ORDERS placed and paid orders: events/s stand for req/s. */
import { measureRebuild } from './lib-analytics.mjs';

export const summary = 'analytics rebuild from the outbox on sqlite (events/s)';
export const loop = true;

export const measure = () => measureRebuild({ dialect: 'sqlite' });
