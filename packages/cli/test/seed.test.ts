/** `plinth seed --demo` and `serve --seed-demo-if-empty`, run as the built binary on real databases. */
import { createPlinth } from '@plinth/core';
import { createTestDatabase, dialects, type TestDatabase } from '@plinth/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonOf, plinth, serve, tempDir } from './cli.js';

const STATUSES = ['pending_payment', 'paid', 'fulfilled', 'cancelled', 'expired', 'refunded', 'partially_refunded'];

describe.each(dialects)('plinth seed on %s', (dialect) => {
  let db: TestDatabase;
  let dir: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    db = await createTestDatabase(dialect);
    dir = tempDir();
  });
  afterEach(async () => {
    await db.drop();
    dir.remove();
  });
  const run = (args: string[]) => plinth([...args, '--database-url', db.url], { cwd: dir.path, timeoutMs: 60_000 });

  async function statuses(): Promise<Record<string, number>> {
    const app = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', builtins: false });
    try {
      const rows = (await app.db.selectFrom('orders').select('status').execute()) as { status: string }[];
      const out: Record<string, number> = {};
      for (const r of rows) out[r.status] = (out[r.status] ?? 0) + 1;
      return out;
    } finally {
      await app.close();
    }
  }

  it('fills a fresh database with a shop that has orders in every state, then refuses to seed it again', async () => {
    const seeded = await run(['seed', '--demo', '--json']);
    expect(seeded.code, seeded.stderr).toBe(0);
    const report = jsonOf(seeded);
    expect(report.counts).toMatchObject({ users: 26, categories: 17, products: 300, orders: 42, refunds: 12 });
    expect(report.counts.skus).toBeGreaterThan(300);
    for (const status of STATUSES) expect(report.ordersByStatus[status], status).toBe(6);
    expect(report.password).toBe('plinth demo shop 2026');
    // What the report says is what the database holds.
    expect(await statuses()).toEqual(report.ordersByStatus);
    // Made through the services: the audit chain holds.
    const verify = await run(['audit', 'verify']);
    expect(verify.code, verify.stderr).toBe(0);

    const again = await run(['seed', '--demo']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already holds data');
    expect(await statuses()).toEqual(report.ordersByStatus);
  });

  // One dialect is enough to compare two runs.
  it.skipIf(dialect !== 'sqlite')('is deterministic: the same shop twice', async () => {
    const other = await createTestDatabase(dialect);
    try {
      const a = jsonOf(await run(['seed', '--demo', '--json']));
      const b = jsonOf(await plinth(['seed', '--demo', '--json', '--database-url', other.url], { cwd: dir.path, timeoutMs: 60_000 }));
      expect({ ...b, database: '' }).toEqual({ ...a, database: '' });
      const names = async (url: string) => {
        const app = createPlinth({ databaseUrl: url, processEnv: false, logLevel: 'silent', builtins: false });
        try {
          return (await app.db.selectFrom('products').select(['name', 'price_amount']).orderBy('name').orderBy('price_amount').execute()) as unknown[];
        } finally {
          await app.close();
        }
      };
      expect(await names(other.url)).toEqual(await names(db.url));
    } finally {
      await other.drop();
    }
  });

  it('serve --seed-demo-if-empty seeds an empty database once, and serves it', async () => {
    const first = await serve(['--port', '0', '--seed-demo-if-empty', '--database-url', db.url], { cwd: dir.path, timeoutMs: 60_000 });
    expect(first.stdout()).toContain('Seeded the demo shop');
    const products = await (await fetch(`${first.url}/v1/products?limit=5`)).json();
    expect(products.data.length).toBe(5);
    await first.stop();
    const second = await serve(['--port', '0', '--seed-demo-if-empty', '--database-url', db.url], { cwd: dir.path, timeoutMs: 60_000 });
    expect(second.stdout()).not.toContain('Seeded the demo shop');
    await second.stop();
    expect(Object.values(await statuses()).reduce((a, b) => a + b, 0)).toBe(42);
  });
});
