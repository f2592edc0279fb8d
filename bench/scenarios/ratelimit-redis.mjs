/**
 * `ratelimit-off` with the Redis rate limiter on (`PLINTH_TEST_REDIS_URL`, default the local
 * server): every request runs the GCRA script for its IP bucket (one EVALSHA). The limit is
 * high enough that nothing is rejected (the runner wants 2xx), so this measures the check.
 */
import { randomUUID } from 'node:crypto';
import { testRedisUrl } from '@plinth/core/testing';
import { commerceApp } from './lib-commerce.mjs';

export const summary = 'Plinth GET /v1/products/:id on sqlite, Redis rate limiter on';

export async function start({ tmpDir }) {
  const app = await commerceApp(tmpDir, 'sqlite', {
    products: 200,
    config: {
      redisUrl: testRedisUrl,
      rateLimit: { enabled: true, store: 'redis', perIp: { limit: 10_000_000, periodSeconds: 60 }, keyPrefix: `bench:${randomUUID()}:` },
    },
  });
  const paths = app.ids.map((id) => `/v1/products/${id}`);
  return { url: app.url, target: { paths }, sample: { path: paths[0], keys: ['id', 'skus', 'price'] }, close: app.close };
}
