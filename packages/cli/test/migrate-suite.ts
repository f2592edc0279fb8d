import type { TestDialect } from '@plinth/core/testing';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { declaredMigrationIds, plinthInProcess, prepareDatabase } from './cli.js';

interface StatusJson {
  ok: true;
  dialect: string;
  databaseExists: boolean;
  migrations: { id: string; state: 'applied' | 'pending' | 'unknown'; appliedAt: string | null }[];
  applied: number;
  pending: number;
  unknown: number;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The `plinth migrate` suite, run once per dialect (one file each, to keep files short). */
export function migrateSuite(dialect: TestDialect): void {
  describe(`plinth migrate on ${dialect}`, () => {
    let db: TestDatabase;
    /** What the kernel and the built-in modules declare, in the order `up` applies them. */
    let declared: string[];
    beforeAll(async () => {
      declared = await declaredMigrationIds();
      expect(declared[0]).toBe('kernel/0001-create-outbox');
    });
    beforeEach(async () => {
      db = await createTestDatabase(dialect);
    });
    afterEach(async () => {
      await db.drop();
    });

    const run = (...args: string[]) => plinthInProcess(['migrate', ...args, '--database-url', db.url]);
    const status = async (): Promise<StatusJson> => {
      const result = await run('status', '--json');
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as StatusJson;
    };

    it('lists migrations as pending before `up`, as applied after, and `up` again does nothing', async () => {
      const before = await run('status');
      expect(before.code, before.stdout + before.stderr).toBe(0);
      for (const id of declared) expect(before.stdout).toMatch(new RegExp(`^ {2}${escapeRegExp(id)}\\s+pending$`, 'm'));
      expect(before.stdout).toContain(`0 applied, ${declared.length} pending`);

      const pending = await status();
      expect(pending.dialect).toBe(dialect);
      expect(pending.migrations.map((m) => m.id)).toEqual(declared);
      expect(pending.pending).toBe(declared.length);
      expect(pending.migrations.every((m) => m.state === 'pending' && m.appliedAt === null)).toBe(true);

      const up = await run('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toBe(`Applied ${declared.length} migrations on ${dialect}:\n${declared.map((id) => `  ${id}\n`).join('')}`);

      const applied = await status();
      expect(applied).toMatchObject({ applied: declared.length, pending: 0, unknown: 0, databaseExists: true });
      for (const m of applied.migrations) {
        expect(m.state).toBe('applied');
        expect(new Date(m.appliedAt!).toISOString()).toBe(m.appliedAt);
      }

      const again = await run('up', '--json');
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ ok: true, dialect, database: expect.any(String), applied: [] });
    });

    it('reverts the last migration with `down`, after which `status` shows it pending again; `--steps` reverts the rest', async () => {
      await (await prepareDatabase(db.url, { migrate: true })).close();
      const last = declared[declared.length - 1]!;
      const down = await run('down', '--json');
      expect(down.code, down.stderr).toBe(0);
      expect(JSON.parse(down.stdout).reverted).toEqual([last]);
      const after = await status();
      expect(after).toMatchObject({ applied: declared.length - 1, pending: 1 });
      expect(after.migrations.filter((m) => m.state === 'pending').map((m) => m.id)).toEqual([last]);

      const rest = await run('down', '--json', '--steps', String(declared.length - 1));
      expect(rest.code, rest.stderr).toBe(0);
      expect(JSON.parse(rest.stdout).reverted).toEqual(declared.slice(0, -1).reverse());
      expect((await status()).pending).toBe(declared.length);

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
      expect(report).toMatchObject({ applied: declared.length, pending: 0, unknown: 1 });
      expect(report.migrations.find((m) => m.id === 'billing/0001-create-invoices')?.state).toBe('unknown');

      const human = await run('status');
      expect(human.stdout).toMatch(/^ {2}kernel\/0001-create-outbox\s+applied \d{4}-\d\d-\d\dT\S+Z$/m);
      expect(human.stdout).toMatch(/^ {2}billing\/0001-create-invoices\s+applied \S+\s+\(unknown: no loaded module declares it\)$/m);
      expect(human.stdout).toContain(`${declared.length} applied, 0 pending, 1 unknown`);

      const down = await run('down');
      expect(down.code, down.stdout + down.stderr).toBe(1);
      expect(down.stderr).toBe('error: Cannot revert billing/0001-create-invoices: no loaded module declares it\n');
    });
  });
}
