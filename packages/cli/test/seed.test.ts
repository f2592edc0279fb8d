/** `plinth seed --demo` (the CLI's program, in-process) and `serve --seed-demo-if-empty` (the built binary) on real databases. */
import { createPlinth } from '@plinth/core';
import { createTestDatabase, dialects, type TestDatabase } from '@plinth/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jsonOf, plinthInProcess, type RunResult, serve, tempDir } from './cli.js';

const STATUSES = ['pending_payment', 'paid', 'fulfilled', 'cancelled', 'expired', 'refunded', 'partially_refunded'];

describe.each(dialects)('plinth seed on %s', (dialect) => {
  let dir: ReturnType<typeof tempDir>;
  const dropped: TestDatabase[] = [];
  /** A fresh, empty database, dropped after the test. */
  const database = async () => {
    const db = await createTestDatabase(dialect);
    dropped.push(db);
    return db;
  };
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    while (dropped.length) await dropped.pop()!.drop();
    dir.remove();
  });
  const seedDemo = (url: string, args: string[] = []) =>
    plinthInProcess(['seed', '--demo', ...args, '--database-url', url], { timeoutMs: 90_000 });

  async function statuses(url: string): Promise<Record<string, number>> {
    const app = createPlinth({ databaseUrl: url, processEnv: false, logLevel: 'silent', builtins: false });
    try {
      const rows = (await app.db.selectFrom('orders').select('status').execute()) as { status: string }[];
      const out: Record<string, number> = {};
      for (const r of rows) out[r.status] = (out[r.status] ?? 0) + 1;
      return out;
    } finally {
      await app.close();
    }
  }

  // One demo shop for the file: seeding it is what takes the time.
  describe('on a freshly seeded database', () => {
    let shop: TestDatabase;
    let seeded: RunResult;
    beforeAll(async () => {
      shop = await createTestDatabase(dialect);
      seeded = await seedDemo(shop.url, ['--json']);
    }, 120_000);
    afterAll(async () => {
      await shop?.drop();
    });

    it('fills a fresh database with a shop that has orders in every state, then refuses to seed it again', async () => {
      expect(seeded.code, seeded.stderr).toBe(0);
      const report = jsonOf(seeded);
      expect(report.counts).toMatchObject({ users: 26, categories: 17, products: 300, orders: 42, refunds: 12 });
      expect(report.counts.skus).toBeGreaterThan(300);
      for (const status of STATUSES) expect(report.ordersByStatus[status], status).toBe(6);
      expect(report.password).toBe('plinth demo shop 2026');
      // What the report says is what the database holds.
      expect(await statuses(shop.url)).toEqual(report.ordersByStatus);
      // Made through the services: the audit chain holds.
      const verify = await plinthInProcess(['audit', 'verify', '--database-url', shop.url]);
      expect(verify.code, verify.stderr).toBe(0);

      const again = await seedDemo(shop.url);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already holds data');
      expect(await statuses(shop.url)).toEqual(report.ordersByStatus);
    });

    // One dialect is enough to compare two runs.
    it.skipIf(dialect !== 'sqlite')('is deterministic: the same shop twice', { timeout: 120_000 }, async () => {
      const db = await database();
      const b = jsonOf(await seedDemo(db.url, ['--json']));
      expect({ ...b, database: '' }).toEqual({ ...jsonOf(seeded), database: '' });
      const names = async (url: string) => {
        const app = createPlinth({ databaseUrl: url, processEnv: false, logLevel: 'silent', builtins: false });
        try {
          return (await app.db.selectFrom('products').select(['name', 'price_amount']).orderBy('name').orderBy('price_amount').execute()) as unknown[];
        } finally {
          await app.close();
        }
      };
      expect(await names(db.url)).toEqual(await names(shop.url));
    });
  });

  it('serve --seed-demo-if-empty seeds an empty database once, and serves it', { timeout: 300_000 }, async () => {
    const db = await database();
    // Seeding the whole demo shop on PostgreSQL takes a while on a busy machine.
    const first = await serve(['--port', '0', '--seed-demo-if-empty', '--database-url', db.url], { cwd: dir.path, timeoutMs: 150_000 });
    expect(first.stdout()).toContain('Seeded the demo shop');
    const products = await (await fetch(`${first.url}/v1/products?limit=5`)).json();
    expect(products.data.length).toBe(5);
    await first.stop();
    const second = await serve(['--port', '0', '--seed-demo-if-empty', '--database-url', db.url], { cwd: dir.path, timeoutMs: 60_000 });
    expect(second.stdout()).not.toContain('Seeded the demo shop');
    await second.stop();
    expect(Object.values(await statuses(db.url)).reduce((a, b) => a + b, 0)).toBe(42);
  });
});
