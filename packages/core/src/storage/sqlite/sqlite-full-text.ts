import { sql } from 'kysely';
import { type FullTextIndex, type FullTextSearch, WEIGHTS } from '../full-text.js';

const fts = (index: FullTextIndex) => `${index.table}_fts`;
/** Maps the table's text key to a stable integer rowid of the FTS table (rowids of a text-keyed table may change on VACUUM). */
const keys = (index: FullTextIndex) => `${index.table}_fts_keys`;

/** Tables this helper derives from indexed tables (kept by triggers): backups leave them out, restores rebuild them. */
export const isDerivedFullTextTable = (name: string): boolean => name.endsWith('_fts_keys');
const id = (name: string) => sql.id(name);

/**
 * SQLite: an FTS5 table (unicode61, diacritics folded) kept current by triggers,
 * ranked by bm25 with the column weights.
 */
export const sqliteFullText: FullTextSearch = {
  async createIndex(db, index) {
    const cols = index.columns.map((c) => c.name);
    const colList = sql.join(cols.map(id));
    const newCols = sql.join(cols.map((c) => sql`new.${id(c)}`));
    await sql`create table ${id(keys(index))} (rowid integer primary key, key text not null unique)`.execute(db);
    await sql`create virtual table ${id(fts(index))} using fts5(${sql.raw(cols.map((c) => `"${c}"`).join(', '))}, tokenize = 'unicode61 remove_diacritics 2')`.execute(db);
    const rowidOf = (ref: 'new' | 'old') => sql`(select rowid from ${id(keys(index))} where key = ${sql.raw(ref)}.${id(index.key)})`;
    await sql`create trigger ${id(`${fts(index)}_ai`)} after insert on ${id(index.table)} begin
      insert into ${id(keys(index))} (key) values (new.${id(index.key)});
      insert into ${id(fts(index))} (rowid, ${colList}) values (${rowidOf('new')}, ${newCols});
    end`.execute(db);
    await sql`create trigger ${id(`${fts(index)}_au`)} after update of ${colList} on ${id(index.table)} begin
      update ${id(fts(index))} set ${sql.join(cols.map((c) => sql`${id(c)} = new.${id(c)}`))} where rowid = ${rowidOf('old')};
    end`.execute(db);
    await sql`create trigger ${id(`${fts(index)}_ad`)} after delete on ${id(index.table)} begin
      delete from ${id(fts(index))} where rowid = ${rowidOf('old')};
      delete from ${id(keys(index))} where key = old.${id(index.key)};
    end`.execute(db);
  },
  async dropIndex(db, index) {
    for (const suffix of ['ai', 'au', 'ad']) await sql`drop trigger if exists ${id(`${fts(index)}_${suffix}`)}`.execute(db);
    await sql`drop table if exists ${id(fts(index))}`.execute(db);
    await sql`drop table if exists ${id(keys(index))}`.execute(db);
  },
  match(qb, index, terms) {
    // Every term must appear; the last one may be a prefix. Terms hold letters and digits only.
    const query = terms.map((t, i) => `"${t}"${i === terms.length - 1 ? '*' : ''}`).join(' ');
    const weights = index.columns.map((c) => WEIGHTS[c.weight]).join(', ');
    const table = fts(index);
    const restricted = qb
      .innerJoin(keys(index), `${keys(index)}.key`, `${index.table}.${index.key}`)
      .innerJoin(table, `${table}.rowid`, `${keys(index)}.rowid`)
      .where(sql<boolean>`${id(table)} match ${query}`) as typeof qb;
    // bm25 is lower for better matches: negate it so that higher is better, as on PostgreSQL.
    return { qb: restricted, rank: sql<number>`(-bm25(${id(table)}, ${sql.raw(weights)}))` };
  },
};
