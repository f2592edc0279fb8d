import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import { systemClock } from '../clock.js';
import type { PlinthConfig } from '../config.js';
import { PlinthError } from '../errors.js';
import { createMigrator, type Migrator, type ModuleMigration } from '../migrations/migrator.js';
import type { AnyModule } from '../module.js';
import { builtinModules } from '../modules/builtins.js';
import { orderModules } from '../modules.js';
import { kernelModule } from '../plinth.js';
import { createStorage } from '../storage/create-storage.js';
import type { DialectName, Storage } from '../storage/storage.js';
import { parseDatabaseUrl, redactUrl } from '../storage/url.js';
import type { BackupProgress } from './create.js';
import { checkFile, hashingTap, verifyFile } from './files.js';
import { hasRows, kyselyQuery, listTables, loadOrder, type Query, quoteIdent, type TableInfo } from './introspect.js';
import { createInserter, dropSchemaObjects, readTableFile, resetSequences } from './load.js';
import { type BackupManifest, readManifest } from './manifest.js';
import { pgConnectionEnv, pgToolMajor } from './pg-tools.js';
import { type RowSource, withSqliteFileSource } from './sources.js';
import type { BackupStore } from './store.js';

export interface RestoreOptions {
  /** The database to restore into (`sqlite:...` or `postgres://...`). */
  databaseUrl: string;
  /** Where the backup is. */
  store: BackupStore;
  /** The backup's name (`listBackups`). */
  name: string;
  /** Replace a database that holds rows; default false (refused with `backup.target_not_empty`). */
  force?: boolean;
  /** Application modules, as given to `createPlinth`: their migrations build the schema. */
  modules?: readonly AnyModule[];
  /** Built-in modules, as given to `createPlinth`; default all. */
  builtins?: readonly AnyModule[] | false;
  /** Storage settings (SQLite busy timeout, PostgreSQL pool); default the configuration defaults. */
  database?: Partial<PlinthConfig['database']>;
  onProgress?: (progress: BackupProgress) => void;
}

export interface RestoreReport {
  name: string;
  /** The target, password hidden. */
  database: string;
  dialect: DialectName;
  tables: number;
  rows: number;
  /** Migrations of the backup's schema version, replayed before loading. */
  schemaMigrations: number;
  /** Migrations the code has and the backup had not, run after loading. */
  migrationsApplied: string[];
  durationMs: number;
}

const ROWS_PER_BATCH = 1000;

/** Every migration the given modules declare, in `createPlinth`'s order. */
export function declaredMigrations(modules: readonly AnyModule[] = [], builtins: readonly AnyModule[] | false = builtinModules): ModuleMigration[] {
  return orderModules([kernelModule, ...(builtins || []), ...modules]).flatMap((m) => (m.migrations ?? []).map((migration) => ({ module: m.name, migration })));
}

function checkSchema(manifest: BackupManifest, migrations: ModuleMigration[]): void {
  const declared = new Set(migrations.map((m) => `${m.module}/${m.migration.name}`));
  const unknown = manifest.schema.migrations.filter((id) => !declared.has(id));
  if (unknown.length) {
    throw new PlinthError(
      'backup.schema_newer',
      `Backup ${manifest.name} has migrations this code does not declare (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', ...' : ''}): restore it with the version (and modules) that made it`,
    );
  }
}

/** Where a table's rows come from: a logical file, or a table of a native SQLite backup. */
type Rows = (table: BackupManifest['tables'][number]) => AsyncIterable<unknown[][]>;

/**
 * In one transaction: replays the backup's migrations, loads every table
 * (referenced tables first; SQLite also defers foreign keys), moves
 * PostgreSQL sequences past the loaded ids, then runs the migrations the code
 * has beyond the backup. A failure anywhere leaves nothing behind.
 */
async function loadAll(trx: Kysely<any>, dialect: DialectName, storage: Storage, migrator: Migrator, manifest: BackupManifest, rows: Rows, progress: (p: BackupProgress) => void, emptyFirst: boolean) {
  await storage.lockMigrations(trx);
  if (dialect === 'postgres' && emptyFirst) await dropSchemaObjects(trx);
  if (dialect === 'sqlite') await sql`pragma defer_foreign_keys = on`.execute(trx);
  const totalRows = manifest.tables.reduce((sum, t) => sum + t.rows, 0);
  progress({ phase: 'migrate', rows: 0, totalRows });
  await migrator.applyIn(trx, manifest.schema.migrations);
  const targets = new Map((await listTables(kyselyQuery(trx), dialect)).map((t) => [t.name, t]));
  const ordered = loadOrder(manifest.tables, (t) => targets.get(t.name)?.references ?? []);
  // Migrations may seed rows (built-in roles): the backup holds the whole state, so they make way for it.
  for (const table of loadOrder([...targets.values()], (t) => t.references).reverse()) {
    await trx.executeQuery(CompiledQuery.raw(`delete from ${quoteIdent(table.name)}`));
  }
  let done = 0;
  for (const table of ordered) {
    const target: TableInfo | undefined = targets.get(table.name);
    const missing = target ? table.columns.filter((c) => !target.columns.some((tc) => tc.name === c)) : [];
    if (!target || missing.length) {
      throw new PlinthError(
        'backup.schema_mismatch',
        `The migrations of backup ${manifest.name} do not create ${target ? `the columns ${missing.join(', ')} of ` : ''}table ${table.name} here: was it made with other modules?`,
      );
    }
    const insert = createInserter(trx, dialect, table.name, table.columns);
    let count = 0;
    for await (const batch of rows(table)) {
      await insert(batch);
      count += batch.length;
      done += batch.length;
      progress({ phase: 'copy', table: table.name, rows: done, totalRows });
    }
    if (count !== table.rows) {
      throw new PlinthError('backup.corrupt', `Backup ${manifest.name}: table ${table.name} has ${count} rows, the manifest says ${table.rows}`);
    }
  }
  if (dialect === 'postgres') await resetSequences(trx);
  progress({ phase: 'migrate', rows: done, totalRows });
  return { rows: done, applied: (await migrator.applyIn(trx)).ids };
}

/** Copies a stored file to a local path, checking its checksum on the way. */
async function download(store: BackupStore, manifest: BackupManifest, path: string): Promise<void> {
  const file = manifest.files[0]!;
  const tap = hashingTap();
  await pipeline(await store.get(`${manifest.name}/${file.path}`), tap.stream, createWriteStream(path));
  checkFile(manifest.name, file, tap.bytes(), tap.sha256());
}

function integrityCheck(path: string, what: string): void {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new PlinthError('backup.corrupt', `${what} fails SQLite's integrity check: ${String(result)}`);
  } finally {
    db.close();
  }
}

async function sqliteHasRows(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const query: Query = async (text, parameters = []) => db.prepare(text).all(...(parameters as unknown[])) as Record<string, unknown>[];
    return await hasRows(query, 'sqlite');
  } finally {
    db.close();
  }
}

const removeSqliteFiles = (path: string) => Promise.all(['', '-wal', '-shm', '-journal'].map((suffix) => rm(`${path}${suffix}`, { force: true })));

/**
 * Restores a backup into a database. SQLite: builds a new file next to the
 * target and renames it over the target only when complete (stop the server
 * first). PostgreSQL: one transaction that empties the schema (with `force`
 * when it holds rows), replays the backup's migrations, loads and migrates to
 * the code's version; pg_dump archives go through pg_restore. A logical
 * backup restores into either dialect.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const started = performance.now();
  const { store, name, force = false } = options;
  const progress = options.onProgress ?? (() => {});
  const manifest = await readManifest(store, name);
  const migrations = declaredMigrations(options.modules, options.builtins ?? builtinModules);
  checkSchema(manifest, migrations);
  const target = parseDatabaseUrl(options.databaseUrl);
  const database = { poolMax: 10, busyTimeoutMs: 5000, sqliteSynchronous: 'full' as const, ...options.database };
  const report = (rows: number, applied: string[]): RestoreReport => ({
    name,
    database: redactUrl(options.databaseUrl),
    dialect: target.dialect,
    tables: manifest.tables.length,
    rows,
    schemaMigrations: manifest.schema.migrations.length,
    migrationsApplied: applied,
    durationMs: Math.round(performance.now() - started),
  });
  const notEmpty = () =>
    new PlinthError('backup.target_not_empty', `The target database ${redactUrl(options.databaseUrl)} holds data: restore with --force (force: true) to replace it`);

  if (manifest.encoding === 'pg_dump') {
    if (target.dialect !== 'postgres') throw new PlinthError('backup.unsupported', `Backup ${name} is a pg_dump archive: it restores into PostgreSQL only (use a logical backup to move between dialects)`);
    return report(...(await restorePgDump(options, manifest, migrations, database, force, notEmpty, progress)));
  }

  if (target.dialect === 'sqlite') {
    if (target.memory) throw new PlinthError('backup.unsupported', 'Cannot restore into an in-memory database');
    const path = resolve(target.filename);
    if (!force && (await sqliteHasRows(path))) throw notEmpty();
    const temp = `${path}.restore-${randomBytes(4).toString('hex')}`;
    try {
      let result: [number, string[]];
      if (manifest.encoding === 'sqlite') {
        // A native SQLite backup is already a database: copy, check, migrate.
        progress({ phase: 'copy', rows: 0, totalRows: 0 });
        await download(store, manifest, temp);
        integrityCheck(temp, `Backup ${name}`);
        const storage = createStorage({ databaseUrl: `sqlite:${temp}`, database });
        try {
          const migrator = createMigrator(storage, migrations, systemClock);
          progress({ phase: 'migrate', rows: 0, totalRows: 0 });
          const applied = await storage.db.transaction().execute(async (trx) => {
            await storage.lockMigrations(trx);
            return (await migrator.applyIn(trx)).ids;
          });
          result = [manifest.tables.reduce((sum, t) => sum + t.rows, 0), applied];
        } finally {
          await storage.close();
        }
      } else {
        const storage = createStorage({ databaseUrl: `sqlite:${temp}`, database });
        try {
          // The new file is private until the rename: a rollback journal beats WAL for one big load.
          await sql`pragma journal_mode = delete`.execute(storage.db);
          const migrator = createMigrator(storage, migrations, systemClock);
          const loaded = await storage.db.transaction().execute((trx) => loadAll(trx, 'sqlite', storage, migrator, manifest, logicalRows(store, manifest), progress, false));
          result = [loaded.rows, loaded.applied];
        } finally {
          await storage.close();
        }
      }
      integrityCheck(temp, 'The restored database');
      progress({ phase: 'swap', rows: result[0], totalRows: result[0] });
      await rm(`${path}-wal`, { force: true });
      await rm(`${path}-shm`, { force: true });
      await rename(temp, path);
      return report(...result);
    } finally {
      await removeSqliteFiles(temp);
    }
  }

  // PostgreSQL, from a logical backup or a native SQLite one.
  const storage = createStorage({ databaseUrl: options.databaseUrl, database });
  try {
    if (!force && (await hasRows(kyselyQuery(storage.db), 'postgres'))) throw notEmpty();
    const migrator = createMigrator(storage, migrations, systemClock);
    const load = (rows: Rows) => storage.db.transaction().execute((trx) => loadAll(trx, 'postgres', storage, migrator, manifest, rows, progress, true));
    if (manifest.encoding === 'jsonl') {
      const loaded = await load(logicalRows(store, manifest));
      return report(loaded.rows, loaded.applied);
    }
    const scratch = await mkdtemp(join(tmpdir(), 'plinth-restore-'));
    try {
      const file = join(scratch, 'database.sqlite');
      await download(store, manifest, file);
      const loaded = await withSqliteFileSource(file, (source) => load(sqliteRows(source)));
      return report(loaded.rows, loaded.applied);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  } finally {
    await storage.close();
  }
}

function logicalRows(store: BackupStore, manifest: BackupManifest): Rows {
  return (table) => {
    const file = manifest.files.find((f) => f.path === table.file);
    if (!file) throw new PlinthError('backup.corrupt', `Backup ${manifest.name}: the manifest names no file for table ${table.name}`);
    return readTableFile(store, manifest.name, file, table.columns.length, ROWS_PER_BATCH);
  };
}

function sqliteRows(source: RowSource): Rows {
  return (table) => {
    const info = source.tables.find((t) => t.name === table.name);
    if (!info) throw new PlinthError('backup.corrupt', `The backed-up database has no table ${table.name}`);
    return source.batches({ ...info, columns: table.columns.map((name) => ({ name, type: '' })) }, ROWS_PER_BATCH);
  };
}

async function restorePgDump(
  options: RestoreOptions,
  manifest: BackupManifest,
  migrations: ModuleMigration[],
  database: PlinthConfig['database'],
  force: boolean,
  notEmpty: () => PlinthError,
  progress: (p: BackupProgress) => void,
): Promise<[number, string[]]> {
  if (pgToolMajor('pg_restore') === undefined) throw new PlinthError('backup.unsupported', `Backup ${manifest.name} is a pg_dump archive and pg_restore is not installed`);
  const storage = createStorage({ databaseUrl: options.databaseUrl, database });
  try {
    const query = kyselyQuery(storage.db);
    if (!force && (await hasRows(query, 'postgres'))) throw notEmpty();
    progress({ phase: 'verify', rows: 0, totalRows: 0 });
    await verifyFile(options.store, manifest.name, manifest.files[0]!);
    const hasObjects = (await query(`select 1 from pg_class where relnamespace = (select oid from pg_namespace where nspname = current_schema()) limit 1`)).length > 0;
    progress({ phase: 'copy', rows: 0, totalRows: 0 });
    await runPgRestore(options, manifest, hasObjects);
    const migrator = createMigrator(storage, migrations, systemClock);
    progress({ phase: 'migrate', rows: 0, totalRows: 0 });
    return [manifest.tables.reduce((sum, t) => sum + t.rows, 0), (await migrator.up()).ids];
  } finally {
    await storage.close();
  }
}

async function runPgRestore(options: RestoreOptions, manifest: BackupManifest, clean: boolean): Promise<void> {
  const args = ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', ...(clean ? ['--clean', '--if-exists'] : []), `--dbname=${pgConnectionEnv(options.databaseUrl).PGDATABASE ?? 'postgres'}`];
  const child = spawn('pg_restore', args, { env: { ...process.env, ...pgConnectionEnv(options.databaseUrl) }, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  await pipeline(await options.store.get(`${manifest.name}/${manifest.files[0]!.path}`), child.stdin).catch(() => undefined);
  const code = await exited;
  if (code !== 0) throw new PlinthError('backup.restore_failed', `pg_restore failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`);
}
