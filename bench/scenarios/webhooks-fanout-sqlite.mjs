/** Webhook fan-out on sqlite: deliveries/s to a local receiver (BENCH_WEBHOOK_ENDPOINTS × BENCH_WEBHOOK_EVENTS). */
import { measureFanOut } from '../lib/webhooks.mjs';

export const summary = 'webhook fan-out deliveries/s on sqlite, concurrency 10';
export const loop = true;

export const measure = () => measureFanOut({ dialect: 'sqlite' });
