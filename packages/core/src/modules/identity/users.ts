import type { User } from '../../contract/identity.js';
import type { KernelContext } from '../../module.js';
import { compileOnce } from '../../storage/compile-once.js';
import type { UserRow } from './types.js';

interface RoleSource {
  rolesOf(userId: string): Promise<string[]>;
}

/** Reads users and shapes them for the API (roles come from the access module when it is loaded). */
export function createUserStore(kernel: KernelContext) {
  const roles = async (userId: string): Promise<string[]> => (await kernel.optionalService<RoleSource>('access')?.rolesOf(userId)) ?? [];

  const signInRow = compileOnce(['emailKey'], (v) =>
    kernel.storage.db
      .selectFrom('users')
      .leftJoin('user_passwords', 'user_passwords.user_id', 'users.id')
      .selectAll('users')
      .select('user_passwords.hash as password_hash')
      .where('users.email_key', '=', v.emailKey)
      .where('users.status', '!=', 'deleted'),
  );

  return {
    roles,
    async findById(id: string): Promise<UserRow | undefined> {
      return (await kernel.db.selectFrom('users').selectAll().where('id', '=', id).where('status', '!=', 'deleted').executeTakeFirst()) as UserRow | undefined;
    },
    async findByEmail(email: string): Promise<UserRow | undefined> {
      return (await kernel.db.selectFrom('users').selectAll().where('email_key', '=', emailKey(email)).where('status', '!=', 'deleted').executeTakeFirst()) as UserRow | undefined;
    },
    /**
     * Sign-in's read: the user and their password hash (null without a password, e.g. an
     * account made by OIDC) in one statement, whether or not the email is known.
     */
    async findForSignIn(email: string): Promise<{ user: UserRow; hash: string | null } | undefined> {
      const row = (await signInRow.run<UserRow & { password_hash: string | null }>(kernel.db, { emailKey: emailKey(email) })).rows[0];
      if (!row) return undefined;
      const { password_hash: hash, ...user } = row;
      return { user, hash };
    },
    async toUser(row: UserRow, knownRoles?: string[]): Promise<User> {
      return {
        id: row.id,
        email: row.email,
        name: row.name,
        status: row.status === 'disabled' ? 'disabled' : 'active',
        emailVerified: row.email_verified_at !== null,
        mfaEnabled: kernel.storage.fromBoolean(row.mfa_enabled),
        roles: knownRoles ?? (await roles(row.id)),
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        version: Number(row.version),
      };
    },
  };
}

/** The uniqueness key of an email address: trimmed and lower-cased. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

export type UserStore = ReturnType<typeof createUserStore>;
