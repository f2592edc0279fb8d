import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants as zlib } from 'node:zlib';
import { sql, type Kysely } from 'kysely';
import type { PlinthConfig } from '../config.js';
import { PlinthError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { parseDatabaseUrl } from '../storage/url.js';
import { hashingTap } from './files.js';
import type { TableInfo } from './introspect.js';
import { type BackupFile, type BackupFormat, type BackupInfo, type BackupManifest, checkBackupName, infoOf, newBackupName, writeManifest } from './manifest.js';
import { type RowSource, withPostgresSnapshot, withSqliteFileSource } from './sources.js';
import { snapshotSqlite } from './sqlite-snapshot.js';
import { type BackupStore, createFsBackupStore, storeError } from './store.js';
import { encodeValue } from './values.js';
import { pgConnectionEnv, pgToolMajor } from './pg-tools.js';

/** Progress of a long backup or restore, for progress bars. */
export interface BackupProgress {
  phase: 'snapshot' | 'copy' | 'migrate' | 'verify' | 'swap';
  /** The table being copied, during `copy`. */
  table?: string;
  /** Rows copied so far, of `totalRows`. */
  rows: number;
  totalRows: number;
}

export interface CreateBackupOptions {
  /** Where the backup goes; default a folder store at `backupDir(config)`. */
  store?: BackupStore;
  /** `logical` (default: portable JSONL, restores into either dialect) or `native` (SQLite file; pg_dump on PostgreSQL when installed). */
  format?: BackupFormat;
  /** The backup's name; default `plinth-<time>-<dialect>-<format>`. */
  name?: string;
  /** Called as the work advances. */
  onProgress?: (progress: BackupProgress) => void;
}

/** What `createBackup` needs of a Plinth instance. */
export interface BackupSource {
  readonly config: Readonly<PlinthConfig>;
  readonly storage: Storage;
}

/** The backup folder: `backup.dir`, else `backups/` beside the SQLite file, else `./.plinth/backups`. */
export function backupDir(config: Pick<PlinthConfig, 'databaseUrl' | 'backup'>): string {
  if (config.backup.dir) return resolve(config.backup.dir);
  const target = parseDatabaseUrl(config.databaseUrl);
  if (target.dialect === 'sqlite' && !target.memory) return resolve(target.filename, '..', 'backups');
  return resolve('.plinth', 'backups');
}

const ROWS_PER_BATCH = 1000;
/** gzip level 1: JSONL still shrinks several times, at a fraction of the default level's CPU. */
const GZIP = { level: zlib.Z_BEST_SPEED };

const safeFileName = (table: string, index: number) => `tables/${String(index + 1).padStart(4, '0')}-${table.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl.gz`;

/** Writes one table as gzip-compressed JSONL and returns the stored file. */
async function putTable(store: BackupStore, backup: string, path: string, source: RowSource, table: TableInfo, onRows: (n: number) => void): Promise<{ file: BackupFile; rows: number }> {
  let rows = 0;
  async function* lines() {
    for await (const batch of source.batches(table, ROWS_PER_BATCH)) {
      let chunk = '';
      for (const row of batch) chunk += `${JSON.stringify(row.map(encodeValue))}\n`;
      rows += batch.length;
      onRows(batch.length);
      yield chunk;
    }
  }
  const tap = hashingTap();
  const gzip = createGzip(GZIP);
  // A failure anywhere (reading, compressing) destroys the tap, so `put` fails and stores nothing.
  pipeline(Readable.from(lines()), gzip, tap.stream).catch(() => undefined);
  await store.put(`${backup}/${path}`, tap.stream);
  return { file: { path, bytes: tap.bytes(), sha256: tap.sha256() }, rows };
}

async function exportLogical(store: BackupStore, backup: string, source: RowSource, progress: (p: BackupProgress) => void) {
  const counts = await Promise.all(source.tables.map((t) => source.count(t)));
  const totalRows = counts.reduce((a, b) => a + b, 0);
  let done = 0;
  progress({ phase: 'copy', rows: 0, totalRows });
  const tables: BackupManifest['tables'] = [];
  const files: BackupFile[] = [];
  for (const [index, table] of source.tables.entries()) {
    const path = safeFileName(table.name, index);
    const { file, rows } = await putTable(store, backup, path, source, table, (n) => {
      done += n;
      progress({ phase: 'copy', table: table.name, rows: done, totalRows: Math.max(totalRows, done) });
    });
    tables.push({ name: table.name, columns: table.columns.map((c) => c.name), rows, file: path });
    files.push(file);
  }
  return { tables, files };
}

async function tableCounts(source: RowSource): Promise<BackupManifest['tables']> {
  const out: BackupManifest['tables'] = [];
  for (const table of source.tables) out.push({ name: table.name, columns: table.columns.map((c) => c.name), rows: await source.count(table) });
  return out;
}

async function hashFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const tap = hashingTap();
  tap.stream.resume();
  await pipeline(createReadStream(path), tap.stream);
  return { bytes: tap.bytes(), sha256: tap.sha256() };
}

/** pg_dump from the same snapshot as the manifest's counts, into the store. */
async function putPgDump(store: BackupStore, backup: string, path: string, connectionString: string, trx: Kysely<any>): Promise<BackupFile> {
  const { rows } = await sql<{ id: string }>`select pg_export_snapshot() as id`.execute(trx);
  const child = spawn('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${rows[0]!.id}`], {
    env: { ...process.env, ...pgConnectionEnv(connectionString) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  const tap = hashingTap();
  pipeline(child.stdout, tap.stream).catch(() => undefined);
  const put = store.put(`${backup}/${path}`, tap.stream);
  const code = await exited;
  if (code !== 0) {
    tap.stream.destroy(new Error('pg_dump failed'));
    await put.catch(() => undefined);
    await store.delete(`${backup}/${path}`);
    throw new PlinthError('backup.write_failed', `pg_dump failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`);
  }
  await put;
  return { path, bytes: tap.bytes(), sha256: tap.sha256() };
}

/** True when a pg_dump as new as the server is on the PATH. */
async function pgDumpUsable(trx: Kysely<any>): Promise<boolean> {
  const tool = pgToolMajor('pg_dump');
  if (tool === undefined) return false;
  const { rows } = await sql<{ v: string }>`select current_setting('server_version_num') as v`.execute(trx);
  return tool >= Math.floor(Number(rows[0]!.v) / 10000);
}

/**
 * Backs up the database of a Plinth instance while it keeps serving: SQLite
 * through `VACUUM INTO` in a worker thread (one consistent snapshot; writers
 * are not blocked), PostgreSQL from one `REPEATABLE READ` snapshot. Every file
 * is written under a temporary name and renamed when complete; the manifest
 * (row counts, SHA-256 of each file, schema version) is written last, so an
 * interrupted backup is never listed.
 */
export async function createBackup(plinth: BackupSource, options: CreateBackupOptions = {}): Promise<BackupInfo> {
  const started = performance.now();
  const createdAt = new Date();
  const format = options.format ?? 'logical';
  const { storage, config } = plinth;
  const store = options.store ?? createFsBackupStore(backupDir(config));
  const name = options.name ?? newBackupName(storage.dialect, format, createdAt);
  checkBackupName(name);
  if ((await store.list(`${name}/`)).length) throw new PlinthError('backup.exists', `A backup named ${name} already exists in ${store.location}`);
  const progress = options.onProgress ?? (() => {});
  const base = { plinthBackup: 1 as const, name, createdAt: createdAt.toISOString(), dialect: storage.dialect, format };

  let manifest: BackupManifest;
  try {
    if (storage.dialect === 'sqlite') {
      const target = parseDatabaseUrl(config.databaseUrl);
      if (target.dialect !== 'sqlite' || target.memory) throw new PlinthError('backup.unsupported', 'An in-memory SQLite database cannot be backed up');
      const scratch = store.scratchDir ? await store.scratchDir() : await mkdtemp(join(tmpdir(), 'plinth-backup-'));
      const snapshot = join(scratch, `${name}-${randomBytes(4).toString('hex')}.sqlite`);
      try {
        progress({ phase: 'snapshot', rows: 0, totalRows: 0 });
        await snapshotSqlite(resolve(target.filename), snapshot, config.database.busyTimeoutMs);
        if (format === 'native') {
          const { migrations, tables } = await withSqliteFileSource(snapshot, async (source) => ({ migrations: source.migrations, tables: await tableCounts(source) }));
          const { sha256 } = await hashFile(snapshot);
          const path = 'database.sqlite';
          const { bytes } = store.putFile ? await store.putFile(`${name}/${path}`, snapshot) : await store.put(`${name}/${path}`, createReadStream(snapshot));
          manifest = { ...base, encoding: 'sqlite', schema: { migrations }, tables, files: [{ path, bytes, sha256 }], durationMs: 0 };
        } else {
          manifest = await withSqliteFileSource(snapshot, async (source) => ({
            ...base,
            encoding: 'jsonl' as const,
            schema: { migrations: source.migrations },
            ...(await exportLogical(store, name, source, progress)),
            durationMs: 0,
          }));
        }
      } finally {
        await rm(snapshot, { force: true });
        if (!store.scratchDir) await rm(scratch, { recursive: true, force: true });
      }
    } else {
      const connectionString = parseDatabaseUrl(config.databaseUrl);
      manifest = await withPostgresSnapshot(storage, async (source, trx) => {
        if (format === 'native' && connectionString.dialect === 'postgres' && (await pgDumpUsable(trx))) {
          const tables = await tableCounts(source);
          const file = await putPgDump(store, name, 'database.pgdump', connectionString.connectionString, trx);
          return { ...base, encoding: 'pg_dump' as const, schema: { migrations: source.migrations }, tables, files: [file], durationMs: 0 };
        }
        // Without a pg_dump as new as the server, "native" on PostgreSQL is the logical format.
        return { ...base, format: 'logical' as const, encoding: 'jsonl' as const, schema: { migrations: source.migrations }, ...(await exportLogical(store, name, source, progress)), durationMs: 0 };
      });
    }
    manifest.durationMs = Math.round(performance.now() - started);
    const manifestBytes = await writeManifest(store, manifest);
    return infoOf(manifest, manifestBytes);
  } catch (error) {
    // Nothing half-written stays behind looking like a backup (there is no manifest either way).
    for (const file of await store.list(`${name}/`).catch(() => [])) await store.delete(file.name).catch(() => undefined);
    throw storeError(error, `Backup ${name} failed`);
  }
}
