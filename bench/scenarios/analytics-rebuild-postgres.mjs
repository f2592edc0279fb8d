/** `analytics.rebuild()` on postgres over the events of BENCH_ANALYTICS_ORDERS placed and paid orders: events/s stand for req/s. */
import { measureRebuild } from './lib-analytics.mjs';

export const summary = 'analytics rebuild from the outbox on postgres (events/s)';
export const loop = true;

export const measure = () => measureRebuild({ dialect: 'postgres' });
