import { text } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { PlinthError } from '../errors.js';
import type { BackupStore } from './store.js';

/** `logical`: portable gzip-compressed JSONL per table. `native`: the dialect's own file (SQLite database, pg_dump archive). */
export type BackupFormat = 'logical' | 'native';

const fileSchema = z.object({ path: z.string().min(1), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

const manifestSchema = z.object({
  plinthBackup: z.literal(1),
  name: z.string().min(1),
  createdAt: z.string(),
  dialect: z.enum(['sqlite', 'postgres']),
  format: z.enum(['logical', 'native']),
  /** How the data is stored: `jsonl` (logical), `sqlite` (a database file) or `pg_dump` (custom-format archive). */
  encoding: z.enum(['jsonl', 'sqlite', 'pg_dump']),
  /** The schema version: the ids of the applied migrations, in the order they were applied. */
  schema: z.object({ migrations: z.array(z.string()) }),
  tables: z.array(z.object({ name: z.string(), columns: z.array(z.string()), rows: z.number().int().min(0), file: z.string().optional() })),
  files: z.array(fileSchema),
  durationMs: z.number().min(0),
});

export type BackupManifest = z.output<typeof manifestSchema>;
export type BackupFile = z.output<typeof fileSchema>;

export const MANIFEST = 'manifest.json';

/** What `listBackups` shows of a complete backup. */
export interface BackupInfo {
  name: string;
  createdAt: string;
  dialect: 'sqlite' | 'postgres';
  format: BackupFormat;
  encoding: BackupManifest['encoding'];
  /** Bytes of every file, the manifest included. */
  bytes: number;
  /** The last applied migration id (the schema version), or null for an empty schema. */
  schemaVersion: string | null;
  migrations: number;
  tables: number;
  rows: number;
}

const BACKUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkBackupName(name: string): void {
  if (!BACKUP_NAME.test(name)) {
    throw new PlinthError('backup.invalid_name', `Invalid backup name "${name}": letters, digits, ".", "_" and "-" (at most 128)`);
  }
}

/** `plinth-20240501T120000123Z-sqlite-logical`: sorts by time. */
export function newBackupName(dialect: string, format: BackupFormat, at: Date): string {
  return `plinth-${at.toISOString().replace(/[-:.]/g, '')}-${dialect}-${format}`;
}

export async function readManifest(store: BackupStore, name: string): Promise<BackupManifest> {
  checkBackupName(name);
  let raw: string;
  try {
    raw = await text(await store.get(`${name}/${MANIFEST}`));
  } catch (error) {
    if (error instanceof PlinthError && error.code === 'backup.not_found') {
      throw new PlinthError('backup.not_found', `No complete backup named ${name} in ${store.location}`);
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new PlinthError('backup.corrupt', `${name}/${MANIFEST} is not valid JSON`, { details: { file: `${name}/${MANIFEST}` } });
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success || result.data.name !== name) {
    throw new PlinthError('backup.corrupt', `${name}/${MANIFEST} is not a Plinth backup manifest`, { details: { file: `${name}/${MANIFEST}` } });
  }
  return result.data;
}

export async function writeManifest(store: BackupStore, manifest: BackupManifest): Promise<number> {
  const { bytes } = await store.put(`${manifest.name}/${MANIFEST}`, Readable.from([Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]));
  return bytes;
}

export function infoOf(manifest: BackupManifest, manifestBytes: number): BackupInfo {
  return {
    name: manifest.name,
    createdAt: manifest.createdAt,
    dialect: manifest.dialect,
    format: manifest.format,
    encoding: manifest.encoding,
    bytes: manifest.files.reduce((sum, f) => sum + f.bytes, manifestBytes),
    schemaVersion: manifest.schema.migrations.at(-1) ?? null,
    migrations: manifest.schema.migrations.length,
    tables: manifest.tables.length,
    rows: manifest.tables.reduce((sum, t) => sum + t.rows, 0),
  };
}
