import type { Kysely, RawBuilder, SelectQueryBuilder } from 'kysely';

/**
 * Full-text search, the one seam for it: SQLite FTS5 or a PostgreSQL `tsvector`.
 * A module declares what it searches (`FullTextIndex`), builds the index in a
 * migration (`createIndex`) and filters and ranks a select with `match`.
 */
export interface FullTextIndex {
  /** The searched table, e.g. `products`. */
  table: string;
  /** Its text primary-key column, e.g. `id`. */
  key: string;
  /** Searched columns; `A` weighs most, then `B`, `C`, `D` (PostgreSQL's setweight classes). */
  columns: readonly { name: string; weight: 'A' | 'B' | 'C' | 'D' }[];
}

/** What `match` gives back: the restricted query, and the rank of each row (higher is a better match). */
export interface FullTextMatch<QB> {
  qb: QB;
  /** A `double precision` expression, usable in `select`, `where` and `orderBy`. */
  rank: RawBuilder<number>;
}

export interface FullTextSearch {
  /** Builds the index and keeps it current as rows change (run inside a migration). */
  createIndex(db: Kysely<any>, index: FullTextIndex): Promise<void>;
  dropIndex(db: Kysely<any>, index: FullTextIndex): Promise<void>;
  /**
   * Restricts `qb` (a select from `index.table`) to rows holding every term (the
   * last one as a prefix, for type-ahead). `terms` come from `searchTerms`.
   */
  match<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, index: FullTextIndex, terms: readonly string[]): FullTextMatch<QB>;
}

/** Relative weights of the classes, as PostgreSQL's `ts_rank` defaults (D, C, B, A). */
export const WEIGHTS = { A: 1, B: 0.4, C: 0.2, D: 0.1 } as const;

const MAX_TERMS = 12;
const MAX_TERM_LENGTH = 64;

/**
 * Splits what a user typed into search terms: runs of letters and digits,
 * lower-cased. Nothing else survives, so no query syntax of either database can
 * be injected (quotes, operators, `NEAR`, `:*`). At most 12 terms of 64 characters.
 */
export function searchTerms(text: string): string[] {
  const terms = text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(terms.map((t) => t.slice(0, MAX_TERM_LENGTH)))].slice(0, MAX_TERMS);
}
