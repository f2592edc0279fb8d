/** Orders placed and paid at full speed on sqlite while a worker keeps the rollups: orders/s stand for req/s; rollup lag p50/p99 in the extra figures. */
import { measureLag } from './lib-analytics.mjs';

export const summary = 'analytics rollup lag while orders are placed at full speed on sqlite';
export const loop = true;

export const measure = (config) => measureLag({ dialect: 'sqlite', duration: config.duration });
