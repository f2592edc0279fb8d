import { CompiledQuery, type Kysely } from 'kysely';
import { isDerivedFullTextTable } from '../storage/sqlite/sqlite-full-text.js';
import type { DialectName } from '../storage/storage.js';

/** Runs one SQL statement with parameters and returns its rows. */
export type Query = (sql: string, parameters?: readonly unknown[]) => Promise<Record<string, unknown>[]>;

export function kyselyQuery(db: Kysely<any>): Query {
  return async (sql, parameters = []) => (await db.executeQuery(CompiledQuery.raw(sql, [...parameters]))).rows as Record<string, unknown>[];
}

export interface ColumnInfo {
  name: string;
  /** Declared type (SQLite) or `udt_name` (PostgreSQL): `int8`, `jsonb`, `bool`, ... */
  type: string;
}

export interface TableInfo {
  name: string;
  /** Stored columns only (generated columns are derived, never copied). */
  columns: ColumnInfo[];
  /** Tables this one references by foreign key (itself excluded). */
  references: string[];
}

/** Plinth's bookkeeping tables: the schema version travels in the manifest, not as rows. */
export const BOOKKEEPING = new Set(['plinth_migrations', 'plinth_migration_lock']);

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The tables a backup copies: ordinary tables of the main schema (SQLite) or
 * the current schema (PostgreSQL), without Plinth's bookkeeping. SQLite
 * virtual tables (full-text indexes), their shadow tables and the full-text
 * helper's key tables are left out: they are derived from other tables, and
 * the helper's triggers rebuild them as a restore loads those.
 */
export async function listTables(query: Query, dialect: DialectName): Promise<TableInfo[]> {
  return dialect === 'sqlite' ? sqliteTables(query) : postgresTables(query);
}

async function sqliteTables(query: Query): Promise<TableInfo[]> {
  const names = (await query(`select name from pragma_table_list where schema = 'main' and type = 'table' and name not like 'sqlite_%' order by name`))
    .map((r) => String(r.name))
    .filter((n) => !BOOKKEEPING.has(n) && !isDerivedFullTextTable(n));
  const tables: TableInfo[] = [];
  for (const name of names) {
    const columns = (await query('select name, type, hidden from pragma_table_xinfo(?) order by cid', [name]))
      .filter((c) => Number(c.hidden) === 0)
      .map((c) => ({ name: String(c.name), type: String(c.type ?? '').toLowerCase() }));
    const references = (await query('select distinct "table" as target from pragma_foreign_key_list(?)', [name]))
      .map((r) => String(r.target))
      .filter((t) => t !== name);
    tables.push({ name, columns, references });
  }
  return tables;
}

async function postgresTables(query: Query): Promise<TableInfo[]> {
  const names = (await query(`select tablename from pg_tables where schemaname = current_schema() order by tablename`))
    .map((r) => String(r.tablename))
    .filter((n) => !BOOKKEEPING.has(n));
  const columns = await query(
    `select table_name, column_name, udt_name from information_schema.columns
      where table_schema = current_schema() and is_generated = 'NEVER' order by table_name, ordinal_position`,
  );
  const fks = await query(
    `select distinct c.relname as source, r.relname as target from pg_constraint k
       join pg_class c on c.oid = k.conrelid join pg_class r on r.oid = k.confrelid
      where k.contype = 'f' and c.relnamespace = (select oid from pg_namespace where nspname = current_schema())`,
  );
  return names.map((name) => ({
    name,
    columns: columns.filter((c) => c.table_name === name).map((c) => ({ name: String(c.column_name), type: String(c.udt_name) })),
    references: fks.filter((f) => f.source === name && f.target !== name).map((f) => String(f.target)),
  }));
}

/** Orders tables so every table comes after the tables it references (a cycle keeps its given order). */
export function loadOrder<T extends { name: string }>(tables: readonly T[], references: (t: T) => readonly string[]): T[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: T[] = [];
  const visit = (t: T) => {
    if (state.has(t.name)) return;
    state.set(t.name, 'visiting');
    for (const ref of references(t)) {
      const target = byName.get(ref);
      if (target) visit(target);
    }
    state.set(t.name, 'done');
    out.push(t);
  };
  for (const t of tables) visit(t);
  return out;
}

/** Reads the applied migration ids in the order they were applied (empty when there is no migrations table). */
export async function appliedMigrations(query: Query, dialect: DialectName): Promise<string[]> {
  const exists =
    dialect === 'sqlite'
      ? await query(`select 1 from sqlite_master where type = 'table' and name = 'plinth_migrations'`)
      : await query(`select 1 from pg_tables where schemaname = current_schema() and tablename = 'plinth_migrations'`);
  if (!exists.length) return [];
  return (await query('select id from plinth_migrations order by seq')).map((r) => String(r.id));
}

/** True when any table (bookkeeping aside) holds a row. */
export async function hasRows(query: Query, dialect: DialectName): Promise<boolean> {
  for (const table of await listTables(query, dialect)) {
    if ((await query(`select 1 as x from ${quoteIdent(table.name)} limit 1`)).length) return true;
  }
  return false;
}
