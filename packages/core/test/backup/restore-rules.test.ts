/** Restore's rules: no silent overwrite, older schemas catch up, damage is caught and named, retention. */
import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BackupInfo, backupsToKeep, createBackup, listBackups, pruneBackups, restoreBackup, verifyBackup, kernelModule } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { notesModule, tempStore, writeNote } from './support.js';

const noBuiltins = { builtins: false as const };

describe.each(dialects)('restore rules on %s', (dialect) => {
  const h = useHarness();

  async function sourceWithNotes(count: number, version: 1 | 2 = 1) {
    const db = await h.database(dialect);
    const plinth = h.plinth(db.url, { modules: [notesModule(version)] });
    await plinth.start();
    for (let i = 0; i < count; i++) await writeNote(plinth, 1, i);
    return plinth;
  }

  it('refuses to overwrite a database that holds rows without force, and replaces it with force', async () => {
    const { store } = tempStore(h);
    const source = await sourceWithNotes(3);
    const backup = await createBackup(source, { store });

    const targetDb = await h.database(dialect);
    const target = h.plinth(targetDb.url, { modules: [notesModule()] });
    await target.start();
    await writeNote(target, 9, 1);
    await target.close();

    const options = { databaseUrl: targetDb.url, store, name: backup.name, modules: [notesModule()], ...noBuiltins };
    await expect(restoreBackup(options)).rejects.toMatchObject({ code: 'backup.target_not_empty' });
    const untouched = h.plinth(targetDb.url, { modules: [notesModule()] });
    expect((await untouched.db.selectFrom('notes').select('writer').execute()).map((r) => r.writer)).toEqual([9]);
    await untouched.close();

    const report = await restoreBackup({ ...options, force: true });
    expect(report).toMatchObject({ tables: backup.tables, rows: 6, migrationsApplied: [] });
    const replaced = h.plinth(targetDb.url, { modules: [notesModule()] });
    expect((await replaced.db.selectFrom('notes').select('writer').execute()).map((r) => r.writer)).toEqual([1, 1, 1]);
  });

  it('restores an older-schema backup and runs the migrations the code has beyond it', async () => {
    const { store } = tempStore(h);
    const source = await sourceWithNotes(2, 1);
    const backup = await createBackup(source, { store });
    expect(backup.schemaVersion).toBe('notes/0001-create-notes');

    const targetDb = await h.database(dialect);
    const report = await restoreBackup({ databaseUrl: targetDb.url, store, name: backup.name, modules: [notesModule(2)], ...noBuiltins });
    expect(report.migrationsApplied).toEqual(['notes/0002-notes-archived']);
    const restored = h.plinth(targetDb.url, { modules: [notesModule(2)] });
    expect(await restored.migrator.pending()).toEqual([]);
    const rows = await restored.db.selectFrom('notes').select(['seq', 'archived']).orderBy('seq').execute();
    expect(rows.map((r) => [r.seq, restored.storage.fromBoolean(r.archived)])).toEqual([[0, false], [1, false]]);
  });

  it('refuses a backup whose schema is newer than the code, changing nothing', async () => {
    const { store } = tempStore(h);
    const source = await sourceWithNotes(1, 2);
    const backup = await createBackup(source, { store });
    const targetDb = await h.database(dialect);
    await expect(restoreBackup({ databaseUrl: targetDb.url, store, name: backup.name, modules: [notesModule(1)], ...noBuiltins })).rejects.toMatchObject({
      code: 'backup.schema_newer',
    });
  });

  it('verifies a sound backup by restoring it into a scratch database, and names the damaged file of a corrupted one', async () => {
    const { store, dir } = tempStore(h);
    const source = await sourceWithNotes(5);
    const backup = await createBackup(source, { store });
    expect(await verifyBackup({ store, name: backup.name, modules: [notesModule()], ...noBuiltins })).toMatchObject({
      ok: true,
      tables: backup.tables,
      rows: 10,
      opened: 'sqlite-scratch-restore',
    });

    const tables = join(dir, backup.name, 'tables');
    const notesFile = readdirSync(tables).find((f) => f.endsWith('-notes.jsonl.gz'))!;
    appendFileSync(join(tables, notesFile), 'garbage');
    const error = await verifyBackup({ store, name: backup.name, modules: [notesModule()], ...noBuiltins }).catch((e) => e);
    expect(error).toMatchObject({ code: 'backup.corrupt', details: { file: `${backup.name}/tables/${notesFile}` } });
    expect(error.message).toContain(notesFile);
    // A restore of it fails the same way and leaves the target empty.
    const targetDb = await h.database(dialect);
    await expect(restoreBackup({ databaseUrl: targetDb.url, store, name: backup.name, modules: [notesModule()], ...noBuiltins })).rejects.toMatchObject({
      code: 'backup.corrupt',
    });
    const target = h.plinth(targetDb.url, { modules: [notesModule()] });
    expect(await target.migrator.status().then((s) => s.filter((m) => m.appliedAt))).toEqual([]);
  });

  it('lists only complete backups: a folder without its manifest is not a backup', async () => {
    const { store, dir } = tempStore(h);
    const source = await sourceWithNotes(1);
    const complete = await createBackup(source, { store, format: 'native' });
    const interrupted = await createBackup(source, { store, name: 'interrupted' });
    // What a killed backup leaves: data files, no manifest.
    writeFileSync(join(dir, 'interrupted', 'manifest.json.partial-1-abcd'), '{');
    await store.delete('interrupted/manifest.json');
    const listed = await listBackups(store);
    expect(listed.map((b) => b.name)).toEqual([complete.name]);
    expect(listed[0]).toMatchObject({ dialect, format: 'native', schemaVersion: 'notes/0001-create-notes', migrations: kernelModule.migrations!.length + 1, tables: complete.tables, rows: 2 });
    expect(listed[0]!.bytes).toBeGreaterThan(0);
    await expect(verifyBackup({ store, name: interrupted.name, modules: [notesModule()], ...noBuiltins })).rejects.toMatchObject({ code: 'backup.not_found' });
  });
});

describe('prune', () => {
  const h = useHarness();
  const info = (name: string, createdAt: string) => ({ name, createdAt }) as BackupInfo;

  it('keeps the union of the newest N and the newest of each of the last D days', () => {
    const backups = [
      info('d1-a', '2025-03-01T08:00:00.000Z'),
      info('d1-b', '2025-03-01T20:00:00.000Z'),
      info('d2-a', '2025-03-02T09:00:00.000Z'),
      info('d3-a', '2025-03-03T01:00:00.000Z'),
      info('d3-b', '2025-03-03T02:00:00.000Z'),
      info('d3-c', '2025-03-03T03:00:00.000Z'),
    ];
    expect([...backupsToKeep(backups, { keepLast: 2 })].sort()).toEqual(['d3-b', 'd3-c']);
    expect([...backupsToKeep(backups, { keepDaily: 2 })].sort()).toEqual(['d2-a', 'd3-c']);
    expect([...backupsToKeep(backups, { keepLast: 2, keepDaily: 3 })].sort()).toEqual(['d1-b', 'd2-a', 'd3-b', 'd3-c']);
    expect(backupsToKeep(backups, { keepLast: 0, keepDaily: 0 }).size).toBe(0);
  });

  it('deletes the backups the policy does not keep, and refuses an empty policy', async () => {
    const { store } = tempStore(h);
    const db = await h.database('sqlite');
    const plinth = h.plinth(db.url, { modules: [notesModule()] });
    await plinth.start();
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push((await createBackup(plinth, { store, name: `b${i}`, format: i % 2 ? 'native' : 'logical' })).name);
    await expect(pruneBackups(store, {})).rejects.toMatchObject({ code: 'backup.invalid_policy' });
    await expect(pruneBackups(store, { keepLast: -1 })).rejects.toMatchObject({ code: 'backup.invalid_policy' });
    const dry = await pruneBackups(store, { keepLast: 2, dryRun: true });
    expect(dry.deleted.map((b) => b.name).sort()).toEqual(['b0', 'b1']);
    expect((await listBackups(store)).length).toBe(4);
    const report = await pruneBackups(store, { keepLast: 2 });
    expect(report.kept.map((b) => b.name)).toEqual(['b3', 'b2']);
    expect((await listBackups(store)).map((b) => b.name)).toEqual(['b3', 'b2']);
    expect(await store.list('b0/')).toEqual([]);
  });
});
