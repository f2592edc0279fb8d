import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CompiledQuery, type Kysely } from 'kysely';
import { PlinthError } from '../errors.js';
import type { DialectName } from '../storage/storage.js';
import { checkFile, hashingTap } from './files.js';
import { kyselyQuery, quoteIdent } from './introspect.js';
import type { BackupFile } from './manifest.js';
import type { BackupStore } from './store.js';
import { decodeValue } from './values.js';

const corrupt = (backup: string, path: string, why: string, cause?: unknown) =>
  new PlinthError('backup.corrupt', `${backup}/${path} ${why}: the backup is damaged`, { details: { file: `${backup}/${path}` }, cause });

/**
 * The rows of a logical table file, decoded, in batches. The SHA-256 of the
 * stored bytes is checked at the end, so a damaged file fails the restore
 * (whose transaction then changes nothing).
 */
export async function* readTableFile(store: BackupStore, backup: string, file: BackupFile, columns: number, batchSize: number): AsyncGenerator<unknown[][]> {
  const input: Readable = await store.get(`${backup}/${file.path}`);
  const tap = hashingTap();
  const gunzip = createGunzip();
  const piping = pipeline(input, tap.stream, gunzip);
  piping.catch(() => undefined);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let batch: unknown[][] = [];
  let line = 0;
  const parse = (text: string): unknown[] => {
    line++;
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch (error) {
      throw corrupt(backup, file.path, `has an unreadable row on line ${line}`, error);
    }
    if (!Array.isArray(values) || values.length !== columns) throw corrupt(backup, file.path, `has a row of the wrong shape on line ${line}`);
    try {
      return values.map(decodeValue);
    } catch (error) {
      throw corrupt(backup, file.path, `has an unknown value on line ${line}`, error);
    }
  };
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      pending += decoder.write(chunk);
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (text) batch.push(parse(text));
        newline = pending.indexOf('\n');
      }
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    await piping;
  } catch (error) {
    if (error instanceof PlinthError) throw error;
    throw corrupt(backup, file.path, `cannot be read (${(error as Error).message})`, error);
  }
  pending += decoder.end();
  if (pending.trim()) batch.push(parse(pending));
  checkFile(backup, file, tap.bytes(), tap.sha256());
  if (batch.length) yield batch;
}

/** Parameters a statement may carry: SQLite's limit is 32766, PostgreSQL's 65535. */
const MAX_PARAMS: Record<DialectName, number> = { sqlite: 32_000, postgres: 65_000 };
const MAX_ROWS_PER_INSERT = 500;

/** Inserts rows in multi-row statements; PostgreSQL gets 64-bit integers as text. */
export function createInserter(trx: Kysely<any>, dialect: DialectName, table: string, columns: readonly string[]) {
  const perStatement = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS[dialect] / Math.max(1, columns.length))));
  const head = `insert into ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')})${dialect === 'postgres' ? ' overriding system value' : ''} values `;
  const statements = new Map<number, string>();
  const statement = (rows: number) => {
    let text = statements.get(rows);
    if (!text) {
      let n = 0;
      const tuples: string[] = [];
      for (let r = 0; r < rows; r++) tuples.push(`(${columns.map(() => (dialect === 'postgres' ? `$${++n}` : '?')).join(', ')})`);
      text = head + tuples.join(', ');
      statements.set(rows, text);
    }
    return text;
  };
  return async (rows: unknown[][]) => {
    for (let i = 0; i < rows.length; i += perStatement) {
      const slice = rows.slice(i, i + perStatement);
      const params: unknown[] = [];
      for (const row of slice) for (const value of row) params.push(dialect === 'postgres' && typeof value === 'bigint' ? value.toString() : value);
      await trx.executeQuery(CompiledQuery.raw(statement(slice.length), params));
    }
  };
}

/** PostgreSQL: moves every serial/identity sequence past the largest restored value. */
export async function resetSequences(trx: Kysely<any>): Promise<void> {
  const query = kyselyQuery(trx);
  const serials = await query(
    `select table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) as seq
       from information_schema.columns
      where table_schema = current_schema() and (column_default like 'nextval(%' or is_identity = 'YES')`,
  );
  for (const s of serials) {
    if (!s.seq) continue;
    await query(`select setval($1, coalesce((select max(${quoteIdent(String(s.column_name))}) from ${quoteIdent(String(s.table_name))}), 0) + 1, false)`, [s.seq]);
  }
}

/** PostgreSQL: drops every table, view, sequence, function and type of the current schema (not those of extensions). */
export async function dropSchemaObjects(trx: Kysely<any>): Promise<void> {
  const query = kyselyQuery(trx);
  const ns = '(select oid from pg_namespace where nspname = current_schema())';
  const notExtension = (col: string) => `not exists (select 1 from pg_depend d where d.objid = ${col} and d.deptype = 'e')`;
  const views = await query(`select c.relname as name, c.relkind from pg_class c where c.relnamespace = ${ns} and c.relkind in ('v', 'm') and ${notExtension('c.oid')}`);
  for (const v of views) await query(`drop ${v.relkind === 'm' ? 'materialized view' : 'view'} if exists ${quoteIdent(String(v.name))} cascade`);
  const tables = await query(`select c.relname as name from pg_class c where c.relnamespace = ${ns} and c.relkind in ('r', 'p') and ${notExtension('c.oid')}`);
  if (tables.length) await query(`drop table if exists ${tables.map((t) => quoteIdent(String(t.name))).join(', ')} cascade`);
  const sequences = await query(`select c.relname as name from pg_class c where c.relnamespace = ${ns} and c.relkind = 'S' and ${notExtension('c.oid')}`);
  for (const s of sequences) await query(`drop sequence if exists ${quoteIdent(String(s.name))} cascade`);
  const functions = await query(`select p.oid::regprocedure::text as sig, p.prokind from pg_proc p where p.pronamespace = ${ns} and ${notExtension('p.oid')}`);
  for (const f of functions) await query(`drop ${f.prokind === 'p' ? 'procedure' : f.prokind === 'a' ? 'aggregate' : 'function'} if exists ${f.sig} cascade`);
  const types = await query(`select t.oid::regtype::text as name, t.typtype from pg_type t where t.typnamespace = ${ns} and t.typtype in ('e', 'd', 'r') and ${notExtension('t.oid')}`);
  for (const t of types) await query(`drop ${t.typtype === 'd' ? 'domain' : 'type'} if exists ${t.name} cascade`);
}
