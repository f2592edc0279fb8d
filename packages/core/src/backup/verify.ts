import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import BetterSqlite3 from 'better-sqlite3';
import { PlinthError } from '../errors.js';
import type { AnyModule } from '../module.js';
import type { BackupProgress } from './create.js';
import { verifyFile } from './files.js';
import { readManifest } from './manifest.js';
import { pgToolMajor } from './pg-tools.js';
import { restoreBackup } from './restore.js';
import type { BackupStore } from './store.js';

export interface VerifyOptions {
  store: BackupStore;
  name: string;
  /** Application modules (their migrations rebuild the schema in the scratch database). */
  modules?: readonly AnyModule[];
  builtins?: readonly AnyModule[] | false;
  onProgress?: (progress: BackupProgress) => void;
}

export interface VerifyReport {
  name: string;
  ok: true;
  files: number;
  bytes: number;
  tables: number;
  rows: number;
  /** What opened the backup: a restore into a scratch SQLite file, or `pg_restore --list` for a pg_dump archive. */
  opened: 'sqlite-scratch-restore' | 'pg_restore-list';
}

/**
 * Checks a backup: every file's size and SHA-256 against the manifest, then
 * that it opens — a full restore into a scratch SQLite file (integrity and
 * foreign-key checks, row counts), or `pg_restore --list` for a pg_dump
 * archive. Throws `backup.corrupt` naming the damaged file.
 */
export async function verifyBackup(options: VerifyOptions): Promise<VerifyReport> {
  const { store, name } = options;
  const manifest = await readManifest(store, name);
  options.onProgress?.({ phase: 'verify', rows: 0, totalRows: 0 });
  for (const file of manifest.files) await verifyFile(store, name, file);
  const base = {
    name,
    ok: true as const,
    files: manifest.files.length,
    bytes: manifest.files.reduce((sum, f) => sum + f.bytes, 0),
    tables: manifest.tables.length,
    rows: manifest.tables.reduce((sum, t) => sum + t.rows, 0),
  };
  if (manifest.encoding === 'pg_dump') {
    if (pgToolMajor('pg_restore') === undefined) throw new PlinthError('backup.unsupported', 'pg_restore is not installed: only the checksums of this pg_dump archive were checked');
    const child = spawn('pg_restore', ['--list'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((done) => child.once('close', done));
    await pipeline(await store.get(`${name}/${manifest.files[0]!.path}`), child.stdin).catch(() => undefined);
    const code = await exited;
    if (code !== 0) throw new PlinthError('backup.corrupt', `${name}/${manifest.files[0]!.path} is not a readable pg_dump archive: ${stderr.trim().split('\n')[0] ?? ''}`, { details: { file: `${name}/${manifest.files[0]!.path}` } });
    return { ...base, opened: 'pg_restore-list' };
  }
  const scratch = await mkdtemp(join(tmpdir(), 'plinth-verify-'));
  try {
    const path = join(scratch, 'verify.db');
    await restoreBackup({ databaseUrl: `sqlite:${path}`, store, name, modules: options.modules, builtins: options.builtins, onProgress: options.onProgress });
    const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    try {
      const violations = db.pragma('foreign_key_check') as unknown[];
      if (violations.length) throw new PlinthError('backup.corrupt', `Backup ${name} restores with ${violations.length} foreign-key violations`);
    } finally {
      db.close();
    }
    return { ...base, opened: 'sqlite-scratch-restore' };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
