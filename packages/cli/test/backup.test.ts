/**
 * `plinth backup ...`: create, list, verify, restore, prune, through the CLI's
 * program in-process; a backup killed midway is the built binary, killed.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { bin, jsonOf, plinthInProcess, prepareDatabase, seedUsers, tempDir } from './cli.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function database(dialect: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const db = await createTestDatabase(dialect);
  cleanups.push(() => db.drop());
  return db;
}

function folder(): string {
  const dir = tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

/** A migrated SQLite database with two users. */
async function sqliteWithUsers(): Promise<TestDatabase> {
  const db = await database('sqlite');
  await (await prepareDatabase(db.url, { migrate: true })).close();
  await seedUsers(db.url, [{ email: 'ann@example.com', roles: ['admin'] }, { email: 'bob@example.com' }]);
  return db;
}

const userEmails = async (url: string) => {
  const app = await prepareDatabase(url, { migrate: false });
  try {
    return (await app.db.selectFrom('users').select('email').orderBy('email').execute()).map((r) => r.email);
  } finally {
    await app.close();
  }
};

describe('plinth backup', () => {
  it('creates, lists, verifies and restores a backup; refuses a non-empty target without --force', async () => {
    const source = await sqliteWithUsers();
    const dir = folder();
    const created = await plinthInProcess(['backup', 'create', '--json', '--dir', dir, '--database-url', source.url]);
    expect(created.code, created.stderr).toBe(0);
    const { backup } = jsonOf(created);
    expect(backup).toMatchObject({ dialect: 'sqlite', format: 'logical', encoding: 'jsonl', dir });

    const listed = jsonOf(await plinthInProcess(['backup', 'list', '--json', '--dir', dir]));
    expect(listed.backups).toHaveLength(1);
    expect(listed.backups[0]).toMatchObject({ name: backup.name, dialect: 'sqlite', format: 'logical', bytes: backup.bytes, schemaVersion: backup.schemaVersion });
    const human = await plinthInProcess(['backup', 'list', '--dir', dir]);
    expect(human.stdout).toContain(backup.name);
    expect(human.stdout).toContain(backup.schemaVersion);

    const verified = await plinthInProcess(['backup', 'verify', backup.name, '--dir', dir]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('is sound');

    // Restore into PostgreSQL: a logical backup moves between dialects.
    const pg = await database('postgres');
    const restored = await plinthInProcess(['backup', 'restore', backup.name, '--json', '--dir', dir, '--database-url', pg.url]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(jsonOf(restored).restore).toMatchObject({ dialect: 'postgres', rows: backup.rows, migrationsApplied: [] });
    expect(await userEmails(pg.url)).toEqual(['ann@example.com', 'bob@example.com']);

    // The source now holds data: refused, then replaced with --force.
    const refused = await plinthInProcess(['backup', 'restore', backup.name, '--dir', dir, '--database-url', source.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*holds data: restore with --force/);
    const forced = await plinthInProcess(['backup', 'restore', backup.name, '--force', '--dir', dir, '--database-url', source.url]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`Restored ${backup.name} into sqlite`);
    expect(await userEmails(source.url)).toEqual(['ann@example.com', 'bob@example.com']);
  });

  it('leaves no backup listed as valid when the process is killed midway', async () => {
    const source = await database('sqlite');
    const app = await prepareDatabase(source.url, { migrate: true });
    // Enough data that the backup takes a while (about 40 MB of outbox rows).
    const payload = JSON.stringify({ text: 'y'.repeat(300) });
    await app.transaction(async (tx) => {
      for (let chunk = 0; chunk < 240; chunk++) {
        const rows = Array.from({ length: 500 }, (_, i) => ({ id: `id-${chunk}-${i}`, type: 'bench.filled', payload, created_at: '2025-01-01T00:00:00.000Z' }));
        await tx.db.insertInto('plinth_outbox').values(rows).execute();
      }
    });
    await app.close();
    const dir = folder();
    const child = spawn(process.execPath, [bin, 'backup', 'create', '--name', 'doomed', '--dir', dir, '--database-url', source.url], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Kill it once it has started writing table files.
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(dir, 'doomed', 'tables')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(join(dir, 'doomed', 'tables'))).toBe(true);
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(dir, 'doomed', 'manifest.json'))).toBe(false);

    const listed = await plinthInProcess(['backup', 'list', '--json', '--dir', dir]);
    expect(jsonOf(listed).backups).toEqual([]);
    const verify = await plinthInProcess(['backup', 'verify', 'doomed', '--dir', dir]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain('No complete backup named doomed');
  });

  it('fails verify on a corrupted file, naming it, with a non-zero exit', async () => {
    const source = await sqliteWithUsers();
    const dir = folder();
    for (const format of ['logical', 'native']) {
      const { backup } = jsonOf(await plinthInProcess(['backup', 'create', '--json', '--format', format, '--name', format, '--dir', dir, '--database-url', source.url]));
      const files = format === 'logical' ? readdirSync(join(dir, backup.name, 'tables')).map((f) => `tables/${f}`) : ['database.sqlite'];
      const victim = files.find((f) => f.includes('users')) ?? files[0]!;
      appendFileSync(join(dir, backup.name, victim), 'x');
      const verify = await plinthInProcess(['backup', 'verify', backup.name, '--json', '--dir', dir]);
      expect(verify.code).toBe(1);
      expect(verify.stderr).toContain(`${backup.name}/${victim}`);
      expect(jsonOf(verify).error.code).toBe('backup.corrupt');
    }
  });

  it('prunes to the policy and answers a bad policy with a clear error', async () => {
    const source = await sqliteWithUsers();
    const dir = folder();
    for (const name of ['one', 'two', 'three']) {
      expect((await plinthInProcess(['backup', 'create', '--name', name, '--format', 'native', '--dir', dir, '--database-url', source.url])).code).toBe(0);
    }
    const none = await plinthInProcess(['backup', 'prune', '--dir', dir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('--keep-last N and/or --keep-daily D');
    const bad = await plinthInProcess(['backup', 'prune', '--keep-last', 'many', '--dir', dir]);
    expect(bad.code).toBe(1);
    const pruned = jsonOf(await plinthInProcess(['backup', 'prune', '--keep-last', '1', '--json', '--dir', dir]));
    expect(pruned.prune.deleted.map((b: { name: string }) => b.name).sort()).toEqual(['one', 'two']);
    expect(jsonOf(await plinthInProcess(['backup', 'list', '--json', '--dir', dir])).backups.map((b: { name: string }) => b.name)).toEqual(['three']);
    // One backup per day at most; all from today, so keep-daily 5 keeps the newest only.
    expect(jsonOf(await plinthInProcess(['backup', 'prune', '--keep-daily', '5', '--json', '--dir', dir])).prune.kept.map((b: { name: string }) => b.name)).toEqual(['three']);
  });
});
