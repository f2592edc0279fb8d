/** Commit → webhook receipt on sqlite, one event at a time: p50/p99 (events/s stand for req/s). */
import { measureLatency } from '../lib/webhooks.mjs';

export const summary = 'webhook latency from commit to receipt on sqlite';
export const loop = true;

export const measure = () => measureLatency({ dialect: 'sqlite' });
