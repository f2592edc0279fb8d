/**
 * Shared by the backup-* loop scenarios: a SQLite database of about
 * BENCH_BACKUP_MB megabytes (default 100) made by Plinth's migrations, and the
 * loop that times an operation on it as MB/s (the runner prints them as req/s).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackup, createFsBackupStore, createPlinth, defineModule } from '@plinth/core';
import Database from 'better-sqlite3';

export const BACKUP_MB = (() => {
  const raw = process.env.BENCH_BACKUP_MB;
  const value = raw === undefined || raw === '' ? 100 : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_BACKUP_MB must be a whole number >= 1, got "${raw}"`);
  return value;
})();

export const benchModule = defineModule({
  name: 'bench-backup',
  migrations: [
    {
      name: '0001-create-bench-docs',
      async up(db, { types }) {
        await db.schema
          .createTable('bench_docs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('n', 'integer', (c) => c.notNull())
          .addColumn('flag', types.boolean, (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('meta', types.json, (c) => c.notNull())
          .addColumn('created_at', types.timestamp, (c) => c.notNull())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('bench_docs').execute();
      },
    },
  ],
});

export const plinthOptions = (databaseUrl) => ({ databaseUrl, modules: [benchModule], builtins: false, processEnv: false, logLevel: 'silent' });

/** A temp dir with `source.db` of about BACKUP_MB MB (migrated by Plinth, filled with ~1 KB rows). */
export async function seedDatabase() {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-bench-backup-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'source.db');
  const plinth = createPlinth(plinthOptions(`sqlite:${file}`));
  await plinth.start();
  await plinth.close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const insert = db.prepare('insert into bench_docs (id, n, flag, body, meta, created_at) values (?, ?, ?, ?, ?, ?)');
  const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '.repeat(12);
  const rows = Math.ceil((BACKUP_MB * 1024 * 1024) / 1100);
  const now = Date.now();
  for (let start = 0; start < rows; start += 10_000) {
    db.transaction(() => {
      for (let i = start; i < Math.min(rows, start + 10_000); i++) {
        const id = `doc-${String(i).padStart(9, '0')}`;
        insert.run(id, i, i % 2, `${i} ${words}`, JSON.stringify({ i, tags: ['a', 'b'], score: i / 7 }), new Date(now - i * 1000).toISOString());
      }
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { dir, file, megabytes: statSync(file).size / 1024 / 1024 };
}

/**
 * Runs `once(iteration)` (warm-up first when `warmup` > 0), then again until
 * `duration` seconds have passed (at least once), and reports MB/s of the
 * database's size as ops/s.
 */
export async function measureLoop({ duration, warmup }, megabytes, once) {
  let iteration = 0;
  if (warmup > 0) await once(iteration++);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let runs = 0;
  do {
    await once(iteration++);
    runs++;
  } while (performance.now() - started < duration * 1000);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { opsPerSec: (runs * megabytes) / seconds, ops: runs * megabytes, seconds, cpuMs: (cpu.user + cpu.system) / 1000, runs, megabytes };
}

/**
 * `createBackup(plinth, { format })` on the seeded database, in a loop (MB/s of the database):
 * `native` is VACUUM INTO in a worker, SHA-256, rename into the folder; `logical` is a snapshot,
 * then gzip JSONL per table with SHA-256.
 */
export function backupCreateScenario(format) {
  return {
    summary: `plinth backup create --format ${format} on SQLite (MB/s)`,
    loop: true,
    async measure(config) {
      const { dir, file, megabytes } = await seedDatabase();
      const plinth = createPlinth(plinthOptions(`sqlite:${file}`));
      await plinth.start();
      const store = createFsBackupStore(join(dir, 'backups'));
      try {
        return await measureLoop(config, megabytes, async (i) => {
          await createBackup(plinth, { store, format, name: `b${i}` });
          rmSync(join(dir, 'backups', `b${i}`), { recursive: true });
        });
      } finally {
        await plinth.close();
      }
    },
  };
}
