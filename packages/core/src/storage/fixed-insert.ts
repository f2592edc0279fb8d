import { type CompiledQuery, ColumnNode, createQueryId, InsertQueryNode, TableNode } from 'kysely';
import type { DialectName } from './storage.js';

/**
 * A plain multi-row INSERT of fixed columns, compiled once per (dialect, row count) instead of
 * being built and compiled by Kysely's query builder on every call: for hot write paths (an
 * order's rows, outbox events, jobs). The result is a `CompiledQuery` of kind `InsertQueryNode`,
 * so `executeLater` accepts it and the statement counts as a write like any other insert.
 * Values bind as they would through Kysely (`undefined` becomes `null`: list every column).
 */
export class FixedInsert<Row extends object> {
  readonly #table: string;
  readonly #columns: readonly (keyof Row & string)[];
  readonly #node: InsertQueryNode;
  readonly #texts = new Map<string, string>();

  constructor(table: string, columns: readonly (keyof Row & string)[]) {
    if (!/^[a-z_][a-z0-9_]*$/.test(table) || columns.some((c) => !/^[a-z_][a-z0-9_]*$/.test(c))) {
      throw new Error('FixedInsert takes plain lower-case table and column names');
    }
    this.#table = table;
    this.#columns = columns;
    this.#node = InsertQueryNode.cloneWith(InsertQueryNode.create(TableNode.create(table)), { columns: columns.map((c) => ColumnNode.create(c)) });
  }

  #text(dialect: DialectName, rows: number): string {
    const cacheKey = `${dialect}:${rows}`;
    let text = this.#texts.get(cacheKey);
    if (!text) {
      let n = 0;
      const placeholder = dialect === 'postgres' ? () => `$${++n}` : () => '?';
      const tuples: string[] = [];
      for (let r = 0; r < rows; r++) tuples.push(`(${this.#columns.map(placeholder).join(', ')})`);
      text = `insert into "${this.#table}" (${this.#columns.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}`;
      this.#texts.set(cacheKey, text);
    }
    return text;
  }

  /** The statement inserting `rows` (at least one). */
  compile(dialect: DialectName, rows: readonly Row[]): CompiledQuery {
    if (rows.length === 0) throw new Error('FixedInsert needs at least one row');
    const parameters: unknown[] = [];
    for (const row of rows) for (const c of this.#columns) parameters.push((row as Record<string, unknown>)[c] ?? null);
    return { query: this.#node, queryId: createQueryId(), sql: this.#text(dialect, rows.length), parameters };
  }
}
