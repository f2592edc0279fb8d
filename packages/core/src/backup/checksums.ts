import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Storage } from '../storage/storage.js';
import { parseDatabaseUrl } from '../storage/url.js';
import type { ColumnInfo } from './introspect.js';
import { type RowSource, withPostgresSnapshot, withSqliteFileSource } from './sources.js';
import { snapshotSqlite } from './sqlite-snapshot.js';
import { canonicalJson } from './values.js';

export interface TableChecksum {
  rows: number;
  /** Order-independent digest of the table's rows (hex). */
  digest: string;
}

const MOD = 1n << 256n;
const JSON_TYPES = new Set(['json', 'jsonb']);

/**
 * One value in a form both dialects agree on: booleans as 0/1 (SQLite stores
 * them so), integers as digits, bytes as hex, JSON documents with sorted keys
 * (PostgreSQL's jsonb reorders keys; SQLite keeps JSON as text, so a text
 * value holding a JSON object or array counts as that document).
 */
function canonical(value: unknown, column: ColumnInfo): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isInteger(value) ? value.toString() : value;
  if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'string') {
    const json = JSON_TYPES.has(column.type) || /^\s*[[{]/.test(value);
    if (json) {
      try {
        return `j${canonicalJson(JSON.parse(value))}`;
      } catch {
        return value;
      }
    }
  }
  return value;
}

async function digestTables(source: RowSource): Promise<Record<string, TableChecksum>> {
  const out: Record<string, TableChecksum> = {};
  for (const table of source.tables) {
    let sum = 0n;
    let rows = 0;
    for await (const batch of source.batches(table, 1000)) {
      for (const row of batch) {
        const text = JSON.stringify(row.map((v, i) => canonical(v, table.columns[i]!)));
        sum = (sum + BigInt(`0x${createHash('sha256').update(text).digest('hex')}`)) % MOD;
        rows++;
      }
    }
    out[table.name] = { rows, digest: sum.toString(16).padStart(64, '0') };
  }
  return out;
}

/**
 * A digest of every table's data (bookkeeping aside), comparable across
 * dialects: equal digests mean the same rows, whatever their order, with
 * JSON compared as documents. For checking that a restore (or a move between
 * SQLite and PostgreSQL) kept everything. Reads one consistent snapshot.
 */
export async function tableChecksums(plinth: { readonly storage: Storage; readonly config: { databaseUrl: string; database: { busyTimeoutMs: number } } }): Promise<Record<string, TableChecksum>> {
  if (plinth.storage.dialect === 'postgres') return withPostgresSnapshot(plinth.storage, digestTables);
  const target = parseDatabaseUrl(plinth.config.databaseUrl);
  if (target.dialect !== 'sqlite' || target.memory) throw new Error('tableChecksums needs a SQLite file or PostgreSQL');
  const scratch = await mkdtemp(join(tmpdir(), 'plinth-checksum-'));
  try {
    const snapshot = join(scratch, 'snapshot.sqlite');
    await snapshotSqlite(resolve(target.filename), snapshot, plinth.config.database.busyTimeoutMs);
    return await withSqliteFileSource(snapshot, digestTables);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
