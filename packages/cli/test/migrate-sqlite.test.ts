import { existsSync } from 'node:fs';
import { createTestDatabase } from '@plinth/core/testing';
import { describe, expect, it } from 'vitest';
import { declaredMigrationIds, plinthInProcess } from './cli.js';
import { migrateSuite } from './migrate-suite.js';

migrateSuite('sqlite');

describe('plinth migrate on a SQLite file that does not exist', () => {
  it('`status` lists everything pending and `down` has nothing to revert, neither creates the file; `up` does', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const file = db.url.slice('sqlite:'.length);
      const status = await plinthInProcess(['migrate', 'status', '--json', '--database-url', db.url]);
      expect(status.code, status.stdout + status.stderr).toBe(0);
      const declared = await declaredMigrationIds();
      const report = JSON.parse(status.stdout) as { migrations: { id: string }[] };
      expect(report).toMatchObject({ databaseExists: false, applied: 0, pending: declared.length });
      expect(report.migrations.map((m) => m.id)).toEqual(declared);
      const down = await plinthInProcess(['migrate', 'down', '--database-url', db.url]);
      expect(down.code, down.stdout + down.stderr).toBe(0);
      expect(down.stdout).toContain('No migrations to revert');
      expect(existsSync(file)).toBe(false);

      expect((await plinthInProcess(['migrate', 'up', '--database-url', db.url])).code).toBe(0);
      expect(existsSync(file)).toBe(true);
    } finally {
      await db.drop();
    }
  });
});
