/**
 * Terminology of the access module.
 *
 * - permission: `resource:action` (`orders:refund`); `resource:action:own` holds only on
 *   resources whose `ownerId` is the actor; `*` (the `admin` role) holds everything.
 * - role: a named set of permissions. Built-in roles (`admin`, `staff`, `customer`) get theirs
 *   from the modules' `permissions` declarations; custom roles store theirs in `role_permissions`.
 * - org role: `owner` | `admin` | `member` of one organization; grants org-scoped permissions
 *   on resources carrying that `orgId`.
 */
import type { z } from 'zod';
import type { memberSchema, orgRoles, orgSchema, roleSchema } from '../../contract/access.js';

export type OrgRole = (typeof orgRoles)[number];
export type Role = z.infer<typeof roleSchema>;
export type Org = z.infer<typeof orgSchema>;
export type Member = z.infer<typeof memberSchema>;

/** A page of a cursor-paginated list. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageOptions {
  /** Default 20, at most 100. */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

export const pageLimit = (limit: number | undefined): number => Math.min(Math.max(Math.trunc(limit ?? 20), 1), 100);

/** Splits `limit + 1` rows into a page and the cursor of the next one. */
export function toPage<R, T>(rows: R[], limit: number, cursorOf: (row: R) => string, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { data: kept.map(map), nextCursor: more ? cursorOf(kept[kept.length - 1]!) : null };
}
