import { sql } from 'kysely';
import type { User } from '../../contract/identity.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import type { Caller, IdentityCore, SessionView, UserRow } from '../identity/types.js';
import { accessError } from './errors.js';
import type { RoleStore } from './roles.js';
import { type Page, type PageOptions, pageLimit } from './types.js';

export interface UserQuery extends PageOptions {
  /** Substring of the email or the name, case-insensitive. */
  q?: string | undefined;
  status?: 'active' | 'disabled' | undefined;
  /** Only holders of this role. */
  role?: string | undefined;
}

export interface UserChanges {
  status?: 'active' | 'disabled' | undefined;
  /** The complete new set of roles. */
  roles?: readonly string[] | undefined;
}

export interface AdminUserDeps {
  roles: RoleStore;
  identity: () => Pick<IdentityCore, 'toUser' | 'revokeSessions' | 'listUserSessions'>;
  audit: () => AuditService;
}

/** `%`, `_` and the escape character itself match literally. */
const likePattern = (text: string) => `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;

/**
 * What admins do to accounts: search, read, disable/enable, assign roles,
 * revoke sessions. Every service checks its permission itself, so it is safe
 * to call without HTTP.
 */
export function createAdminUserService(kernel: KernelContext, deps: AdminUserDeps) {
  const db = () => kernel.db;
  const notFound = () => accessError('access.user_not_found', 'No such user');

  async function findUser(id: string, lock = false): Promise<UserRow> {
    const q = db().selectFrom('users').selectAll().where('id', '=', id).where('status', '!=', 'deleted');
    const row = (await (lock ? kernel.storage.forUpdate(q) : q).executeTakeFirst()) as UserRow | undefined;
    if (!row) throw notFound();
    return row;
  }

  async function bumpVersion(id: string): Promise<void> {
    await db()
      .updateTable('users')
      .set((eb) => ({ version: eb('version', '+', 1), updated_at: new Date(kernel.clock.now()).toISOString() }))
      .where('id', '=', id)
      .execute();
  }

  return {
    /** Users by id (cursor = the last id); no total count. */
    async listUsers(query: UserQuery, caller: Caller): Promise<Page<User>> {
      await kernel.authorize(caller.actor, 'users:read');
      const limit = pageLimit(query.limit);
      let q = db().selectFrom('users').selectAll().where('status', '!=', 'deleted');
      if (query.status) q = q.where('status', '=', query.status);
      if (query.q) {
        const pattern = likePattern(query.q);
        q = q.where(({ or }) => or([sql<boolean>`lower(email) like ${pattern} escape '!'`, sql<boolean>`lower(coalesce(name, '')) like ${pattern} escape '!'`]));
      }
      if (query.role) {
        const role = query.role;
        q = q.where(({ exists, selectFrom }) =>
          exists(selectFrom('user_roles').select('user_roles.user_id').whereRef('user_roles.user_id', '=', 'users.id').where('user_roles.role', '=', role)),
        );
      }
      if (query.cursor) q = q.where('id', '>', query.cursor);
      const rows = (await q.orderBy('id').limit(limit + 1).execute()) as UserRow[];
      const more = rows.length > limit;
      const kept = more ? rows.slice(0, limit) : rows;
      const identity = deps.identity();
      const data: User[] = [];
      for (const row of kept) data.push(await identity.toUser(row));
      return { data, nextCursor: more ? kept[kept.length - 1]!.id : null };
    },

    async getUser(id: string, caller: Caller): Promise<User> {
      await kernel.authorize(caller.actor, 'users:read');
      return deps.identity().toUser(await findUser(id));
    },

    /**
     * Disables/enables a user and/or replaces their roles, in one transaction.
     * Disabling revokes every session at once (refresh stops now; access tokens
     * die within their lifetime, API keys at their next use).
     */
    async updateUser(id: string, changes: UserChanges, caller: Caller): Promise<User> {
      await kernel.authorize(caller.actor, 'users:write');
      const row = await kernel.transaction(async () => {
        const before = await findUser(id, true);
        let changed = false;
        if (changes.roles !== undefined) changed = (await deps.roles.applyRoles(id, changes.roles, caller)).changed;
        if (changes.status !== undefined && changes.status !== before.status) {
          changed = true;
          await db().updateTable('users').set({ status: changes.status }).where('id', '=', id).execute();
          const disabling = changes.status === 'disabled';
          const revoked = disabling ? await deps.identity().revokeSessions(id, { reason: 'disabled' }) : 0;
          await deps.audit().record(caller, {
            action: disabling ? 'access.user.disabled' : 'access.user.enabled',
            target: { type: 'user', id },
            data: disabling ? { revokedSessions: revoked } : {},
          });
        }
        if (changed) await bumpVersion(id);
        return findUser(id);
      });
      return deps.identity().toUser(row);
    },

    /** A user's active sessions, newest first (never their tokens). */
    async listSessions(id: string, caller: Caller): Promise<SessionView[]> {
      await kernel.authorize(caller.actor, 'users:read');
      await findUser(id);
      return deps.identity().listUserSessions(id);
    },

    /** Revokes every session of a user; answers how many were active. */
    async revokeSessions(id: string, caller: Caller): Promise<number> {
      await kernel.authorize(caller.actor, 'users:write');
      return kernel.transaction(async () => {
        await findUser(id, true);
        const revoked = await deps.identity().revokeSessions(id, { reason: 'revoked_by_admin' });
        await deps.audit().record(caller, { action: 'access.user.sessions_revoked', target: { type: 'user', id }, data: { revoked } });
        return revoked;
      });
    },
  };
}

export type AdminUserService = ReturnType<typeof createAdminUserService>;
