import { sql } from 'kysely';
import type { FullTextIndex, FullTextSearch } from '../full-text.js';

/** The generated `tsvector` column added to the searched table. */
const vector = (index: FullTextIndex) => `${index.table}_fts`;
const id = (name: string) => sql.id(name);

/**
 * PostgreSQL: a stored generated `tsvector` (the `simple` configuration: no
 * stemming, any language) with `setweight` classes and a GIN index, ranked by `ts_rank`.
 */
export const postgresFullText: FullTextSearch = {
  async createIndex(db, index) {
    const parts = index.columns.map((c) => sql`setweight(to_tsvector('simple', coalesce(${id(c.name)}, '')), ${sql.lit(c.weight)})`);
    await sql`alter table ${id(index.table)} add column ${id(vector(index))} tsvector generated always as (${sql.join(parts, sql` || `)}) stored`.execute(db);
    await sql`create index ${id(`${vector(index)}_idx`)} on ${id(index.table)} using gin (${id(vector(index))})`.execute(db);
  },
  async dropIndex(db, index) {
    await sql`drop index if exists ${id(`${vector(index)}_idx`)}`.execute(db);
    await sql`alter table ${id(index.table)} drop column if exists ${id(vector(index))}`.execute(db);
  },
  match(qb, index, terms) {
    // Every term must appear; the last one may be a prefix. Terms hold letters and digits only.
    const text = terms.map((t, i) => `${t}${i === terms.length - 1 ? ':*' : ''}`).join(' & ');
    const column = sql`${id(index.table)}.${id(vector(index))}`;
    const query = sql`to_tsquery('simple', ${text})`;
    const restricted = qb.where(sql<boolean>`${column} @@ ${query}`) as typeof qb;
    return { qb: restricted, rank: sql<number>`ts_rank(${column}, ${query})::float8` };
  },
};
