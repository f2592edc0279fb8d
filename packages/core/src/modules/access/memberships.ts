import { LRUCache } from 'lru-cache';
import type { KernelContext } from '../../module.js';
import type { OrgRole } from './types.js';

/** How long a membership answer is trusted; local changes drop it at once. */
export const MEMBERSHIP_CACHE_TTL_MS = 5_000;

/** Org roles as the policy reads them: one cached lookup per (org, user). */
export function createMembershipCache(kernel: KernelContext) {
  const cache = new LRUCache<string, { role: OrgRole | null }>({
    max: 10_000,
    ttl: MEMBERSHIP_CACHE_TTL_MS,
    perf: { now: () => kernel.clock.now() },
  });
  const key = (orgId: string, userId: string) => `${orgId}\u0000${userId}`;
  const drop = (orgId?: string, userId?: string) => {
    if (orgId !== undefined && userId !== undefined) cache.delete(key(orgId, userId));
    else cache.clear();
  };
  kernel.cache.onRemoteInvalidation((tags) => {
    for (const tag of tags ?? ['membership']) {
      if (tag === 'membership') drop();
      else if (tag.startsWith('membership:')) {
        const [, orgId, userId] = tag.split(':');
        drop(orgId, userId);
      }
    }
  });

  return {
    async orgRole(orgId: string, userId: string): Promise<OrgRole | null> {
      const k = key(orgId, userId);
      const hit = cache.get(k);
      if (hit) return hit.role;
      const row = (await kernel.db
        .selectFrom('memberships')
        .select('role')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .executeTakeFirst()) as { role: OrgRole } | undefined;
      const role = row?.role ?? null;
      cache.set(k, { role });
      return role;
    },
    /** The distinct org roles a user holds (not cached: only API-key creation asks). */
    async orgRolesOf(userId: string): Promise<OrgRole[]> {
      const rows = (await kernel.db.selectFrom('memberships').select('role').distinct().where('user_id', '=', userId).execute()) as { role: OrgRole }[];
      return rows.map((r) => r.role);
    },
    /** Drops one membership, or (without a user) everything cached, here and in every other process. */
    invalidate(orgId?: string, userId?: string): Promise<void> {
      drop(orgId, userId);
      return kernel.cache.invalidate([orgId !== undefined && userId !== undefined ? `membership:${orgId}:${userId}` : 'membership']);
    },
  };
}

export type MembershipCache = ReturnType<typeof createMembershipCache>;
