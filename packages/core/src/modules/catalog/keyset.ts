import { PlinthError } from '../../errors.js';

/**
 * Keyset cursors: the sort values of the last row of a page, opaque to callers
 * (base64url JSON). A cursor names its sort, so one made for another sort is
 * refused instead of silently skipping rows.
 */
export function encodeCursor(sort: string, values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify([sort, ...values])).toString('base64url');
}

/** The values in a cursor made for `sort`, with their types checked; 422 `validation.failed` otherwise. */
export function decodeCursor(cursor: string, sort: string, types: readonly ('string' | 'number')[]): (string | number)[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === types.length + 1 &&
    parsed[0] === sort &&
    types.every((t, i) => typeof parsed[i + 1] === t && (t !== 'number' || Number.isFinite(parsed[i + 1])));
  if (!ok) {
    throw new PlinthError('validation.failed', 'The cursor is not one this list gave out (for this sort)', {
      errors: [{ path: 'query.cursor', message: 'invalid cursor', code: 'invalid_cursor' }],
    });
  }
  return (parsed as (string | number)[]).slice(1);
}

/** `limit + 1` rows → the page and the cursor of the next one. */
export function pageOf<R, T>(rows: R[], limit: number, cursorOf: (row: R) => string, map: (row: R) => T): { data: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { data: kept.map(map), nextCursor: more ? cursorOf(kept[kept.length - 1]!) : null };
}
