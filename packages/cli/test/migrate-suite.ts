import type { TestDialect } from '@plinth/core/testing';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plinth, prepareDatabase } from './cli.js';

interface StatusJson {
  ok: true;
  dialect: string;
  databaseExists: boolean;
  migrations: { id: string; state: 'applied' | 'pending' | 'unknown'; appliedAt: string | null }[];
  applied: number;
  pending: number;
  unknown: number;
}

/** The `plinth migrate` suite, run once per dialect (one file each, to keep files short). */
export function migrateSuite(dialect: TestDialect): void {
  describe(`plinth migrate on ${dialect}`, () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createTestDatabase(dialect);
    });
    afterEach(async () => {
      await db.drop();
    });

    const run = (...args: string[]) => plinth(['migrate', ...args, '--database-url', db.url]);
    const status = async (): Promise<StatusJson> => {
      const result = await run('status', '--json');
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as StatusJson;
    };

    it('lists migrations as pending before `up`, as applied after, and `up` again does nothing', async () => {
      const before = await run('status');
      expect(before.code, before.stdout + before.stderr).toBe(0);
      expect(before.stdout).toMatch(/^ {2}kernel\/0001-create-outbox\s+pending$/m);

      const pending = await status();
      expect(pending.dialect).toBe(dialect);
      expect(pending.pending).toBe(pending.migrations.length);
      expect(pending.migrations.every((m) => m.state === 'pending' && m.appliedAt === null)).toBe(true);

      const up = await run('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toBe(`Applied 1 migration on ${dialect}:\n  kernel/0001-create-outbox\n`);

      const applied = await status();
      expect(applied).toMatchObject({ pending: 0, unknown: 0, databaseExists: true });
      for (const m of applied.migrations) {
        expect(m.state).toBe('applied');
        expect(new Date(m.appliedAt!).toISOString()).toBe(m.appliedAt);
      }

      const again = await run('up', '--json');
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ ok: true, dialect, database: expect.any(String), applied: [] });
    });

    it('reverts with `down`, after which `status` shows the migration pending again', async () => {
      await (await prepareDatabase(db.url, { migrate: true })).close();
      const down = await run('down', '--json');
      expect(down.code, down.stderr).toBe(0);
      expect(JSON.parse(down.stdout).reverted).toEqual(['kernel/0001-create-outbox']);
      expect((await status()).pending).toBe(1);

      const nothing = await run('down');
      expect(nothing.code, nothing.stdout + nothing.stderr).toBe(0);
      expect(nothing.stdout).toBe('No migrations to revert: none is applied.\n');
    });

    it('flags applied migrations that no loaded module declares, and refuses to revert them', async () => {
      const app = await prepareDatabase(db.url, { migrate: true });
      await app.db
        .insertInto('plinth_migrations')
        .values({ id: 'billing/0001-create-invoices', module: 'billing', name: '0001-create-invoices', seq: 99, applied_at: new Date().toISOString() })
        .execute();
      await app.close();

      const report = await status();
      expect(report).toMatchObject({ applied: 1, pending: 0, unknown: 1 });
      expect(report.migrations.find((m) => m.id === 'billing/0001-create-invoices')?.state).toBe('unknown');

      const human = await run('status');
      expect(human.stdout).toMatch(/^ {2}kernel\/0001-create-outbox\s+applied \d{4}-\d\d-\d\dT\S+Z$/m);
      expect(human.stdout).toMatch(/^ {2}billing\/0001-create-invoices\s+applied \S+\s+\(unknown: no loaded module declares it\)$/m);
      expect(human.stdout).toContain('1 applied, 0 pending, 1 unknown');

      const down = await run('down');
      expect(down.code, down.stdout + down.stderr).toBe(1);
      expect(down.stderr).toBe('error: Cannot revert billing/0001-create-invoices: no loaded module declares it\n');
    });
  });
}
