/**
 * Optimistic concurrency, the convention every module follows for updates:
 *
 * - the table has a `version` integer column (`notNull().defaultTo(1)`), incremented by every update;
 * - the API answers `version` in the resource and `ETag: "<version>"`;
 * - an update may name the version it was made from, as `If-Match: "<version>"` or `version` in
 *   the body; when it is not the current one the update changes nothing and answers 409
 *   `resource.version_conflict` (with `currentVersion`), never a silent overwrite;
 * - an update without either is "last write wins" (kept for callers that predate versions).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import { PlinthError } from '../errors.js';

const STRONG = /^"(\d{1,15})"$|^(\d{1,15})$/;

/**
 * The version in an `If-Match` header: `"3"` (or a bare `3`). `*` and no header answer
 * `undefined` (any version). Weak (`W/"3"`), listed or malformed values are 400
 * `request.invalid_precondition`: a precondition that cannot be checked must not pass.
 */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = typeof header === 'string' ? header.trim() : undefined;
  if (value === '*') return undefined;
  const match = value === undefined ? null : STRONG.exec(value);
  const version = match ? Number(match[1] ?? match[2]) : NaN;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new PlinthError('request.invalid_precondition', 'If-Match must be one strong ETag, "<version>" as answered in ETag, or *');
  }
  return version;
}

/**
 * The version an update expects, from `If-Match` or a numeric `version` in the body;
 * `undefined` when neither is sent (last write wins). Both, disagreeing, is a 400.
 */
export function expectedVersion(ctx: { headers: IncomingHttpHeaders; body?: unknown }): number | undefined {
  const fromHeader = parseIfMatch(ctx.headers['if-match']);
  const raw = (ctx.body as { version?: unknown } | null | undefined)?.version;
  const fromBody = typeof raw === 'number' ? raw : undefined;
  if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody) {
    throw new PlinthError('request.invalid_precondition', 'If-Match and the version in the body disagree');
  }
  return fromHeader ?? fromBody;
}

/** The `ETag` of a version: `"3"`. */
export function etag(version: number): string {
  return `"${version}"`;
}

/** 409 `resource.version_conflict`: the resource changed since the caller read it. */
export function versionConflict(resource: string, currentVersion?: number): PlinthError {
  return new PlinthError('resource.version_conflict', `The ${resource} was changed by someone else; read it again and retry with its current version`, {
    details: currentVersion === undefined ? {} : { currentVersion },
  });
}

export interface VersionedUpdate {
  table: string;
  /** The row's key value. */
  id: string;
  /** The key column; default `id`. */
  idColumn?: string;
  /** The version the caller read; `undefined` updates whatever version is current. */
  expected: number | undefined;
  /** Columns to set; `version` is incremented on top of them. */
  set: Record<string, unknown>;
  /** More conditions the row must meet (e.g. `(eb) => eb('status', '!=', 'deleted')`); a row that fails them is "not found". */
  where?: (eb: ExpressionBuilder<any, any>) => Expression<SqlBool>;
  /** Name of the resource in messages; default the table. */
  resource?: string;
}

/**
 * `UPDATE table SET ..., version = version + 1 WHERE id = ? [AND version = ?]`, in one statement
 * (no read-modify-write window). Answers the new version; throws 404 `resource.not_found` when
 * there is no such row and 409 `resource.version_conflict` when its version is not `expected`.
 */
export async function updateVersioned(db: Kysely<any>, update: VersionedUpdate): Promise<number> {
  const idColumn = update.idColumn ?? 'id';
  const resource = update.resource ?? update.table;
  let query = db
    .updateTable(update.table)
    .set((eb) => ({ ...update.set, version: eb('version', '+', 1) }))
    .where(idColumn, '=', update.id);
  if (update.expected !== undefined) query = query.where('version', '=', update.expected);
  if (update.where) query = query.where(update.where);
  const row = (await query.returning('version').executeTakeFirst()) as { version: unknown } | undefined;
  if (row) return Number(row.version);

  let lookup = db.selectFrom(update.table).select('version').where(idColumn, '=', update.id);
  if (update.where) lookup = lookup.where(update.where);
  const current = (await lookup.executeTakeFirst()) as { version: unknown } | undefined;
  if (!current) throw new PlinthError('resource.not_found', `No such ${resource}`);
  throw versionConflict(resource, Number(current.version));
}
