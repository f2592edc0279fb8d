import { describe, expect, it, vi } from 'vitest';
import { dialects, testRedisUrl } from '../src/testing/index.js';
import { useHarness } from './support/harness.js';

describe('readiness', () => {
  const h = useHarness();

  it.each(dialects)('reports the %s database as ready', async (dialect) => {
    const db = await h.database(dialect);
    const plinth = h.plinth(db.url);
    await plinth.start();
    const readiness = await plinth.checkReadiness();
    expect(readiness).toEqual({ ok: true, checks: { database: { ok: true, latencyMs: expect.any(Number) } } });
  });

  it('includes a Redis check when redisUrl is set', async () => {
    const db = await h.database('sqlite');
    const plinth = h.plinth(db.url, { redisUrl: testRedisUrl });
    await plinth.start();
    expect(plinth.redis?.status).toBe('ready');
    const readiness = await plinth.checkReadiness();
    expect(readiness.ok).toBe(true);
    expect(readiness.checks.database).toMatchObject({ ok: true });
    expect(readiness.checks.redis).toEqual({ ok: true, latencyMs: expect.any(Number) });
    await plinth.close();
    await vi.waitFor(() => expect(plinth.redis?.status).toBe('end'), { timeout: 1000, interval: 10 });
  });

  it('reports Redis as not ready when nothing listens, and still closes', async () => {
    const db = await h.database('sqlite');
    const plinth = h.plinth(db.url, { redisUrl: 'redis://127.0.0.1:1' });
    // Whether start() tolerates an unreachable Redis or reports it, the database part is done first.
    await plinth.start().catch(() => {});
    expect(await plinth.migrator.pending()).toEqual([]);
    const started = performance.now();
    const readiness = await plinth.checkReadiness(500);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(readiness.ok).toBe(false);
    expect(readiness.checks.database).toMatchObject({ ok: true });
    expect(readiness.checks.redis).toMatchObject({ ok: false, error: expect.any(String) });

    await plinth.close();
    await plinth.close();
    // Closed means closed: no more reconnection attempts.
    const attempts: string[] = [];
    plinth.redis!.on('reconnecting', () => attempts.push('reconnecting')).on('connect', () => attempts.push('connect'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(attempts).toEqual([]);
  });

  it('reports the database as not ready once closed', async () => {
    const db = await h.database('sqlite');
    const plinth = h.plinth(db.url);
    await plinth.start();
    await plinth.close();
    const readiness = await plinth.checkReadiness(500);
    expect(readiness.ok).toBe(false);
    expect(readiness.checks.database).toMatchObject({ ok: false, error: expect.any(String) });
    await expect(plinth.start()).rejects.toMatchObject({ code: 'service.unavailable' });
  });
});
