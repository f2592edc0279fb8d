/**
 * The signed-in user's own account: profile, password change, email change,
 * export of everything held about them, deletion.
 *
 * - Who may: a user actor (a session). API keys may read (`GET /v1/me`) and update the
 *   profile, but not change the password or email, export, or delete: those need a person.
 * - Password checks (change password, change email, delete): a wrong password answers 403
 *   `auth.wrong_password` and counts as a failed sign-in on the account (`account:<email>`),
 *   so a stolen access token cannot be used to guess the password past the lockout; while
 *   the account is locked the check answers 429 `auth.account_locked`. Accounts without a
 *   password (OIDC only) are not asked for one, except to change it (they use a reset).
 * - Deletion keeps the `users` row (orders keep their foreign key) but anonymizes it:
 *   status `deleted`, email `deleted+<id>@invalid` (so the address can sign up again),
 *   name null. Sessions, password, TOTP, recovery codes, API keys, email tokens, OIDC
 *   links and throttle rows keyed by the address are deleted.
 */
import { type Actor, forbidden } from '../../auth.js';
import type { User } from '../../contract/identity.js';
import { updateVersioned, versionConflict } from '../../concurrency/versioning.js';
import { PlinthError } from '../../errors.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import { type AfterCommit, createEmailFlows, type EmailFlows } from './email-flows.js';
import { identityError } from './errors.js';
import { type SessionRow, sessionView } from './sessions.js';
import { createThrottle } from './throttle.js';
import type { Caller, IdentityCore, UserRow } from './types.js';
import { emailKey } from './users.js';

export interface AccountService {
  /**
   * Changes the profile. With `expectedVersion` (from `If-Match` or the body) a stale version is 409
   * `resource.version_conflict` and changes nothing; without it the last write wins.
   */
  updateProfile(input: { name?: string | null | undefined }, caller: Caller, options?: { expectedVersion?: number | undefined }): Promise<User>;
  /** Checks the current password, sets the new one, revokes every other session. */
  changePassword(input: { currentPassword: string; newPassword: string }, caller: Caller): Promise<void>;
  /** Sends a confirmation link to the new address; the change applies when it is opened. */
  requestEmailChange(input: { email: string; password?: string | undefined }, caller: Caller): Promise<void>;
  /** Everything held about the caller, without hashes or secrets. */
  exportData(caller: Caller): Promise<Record<string, unknown>>;
  /** Revokes everything, erases personal data, keeps an anonymized row. */
  deleteAccount(input: { password?: string | undefined }, caller: Caller): Promise<void>;
}

/** Tables whose rows are the user's credentials and links: deleted with the account. */
const CREDENTIAL_TABLES = ['user_passwords', 'totp_credentials', 'recovery_codes', 'mfa_challenges', 'api_keys', 'oidc_identities'] as const;

export function createAccountService(kernel: KernelContext, core: IdentityCore, emailFlows: EmailFlows): AccountService {
  const throttle = createThrottle(kernel);
  const db = () => kernel.db;
  const iso = (ms: number) => new Date(ms).toISOString();
  const audit = () => kernel.optionalService<AuditService>('audit');
  const hasModule = (name: string) => kernel.modules.some((m) => m.name === name);

  /** The caller's user row; 401 without one, 403 for API keys when a person is needed. */
  async function me(caller: Caller, options: { person?: boolean } = {}): Promise<{ user: UserRow; actor: Exclude<Actor, { kind: 'system' }> }> {
    const actor = caller.actor;
    if (!actor || actor.kind === 'system') throw new PlinthError('auth.unauthenticated', 'Sign in first', { status: 401 });
    if (options.person && actor.kind !== 'user') throw forbidden('Sign in as yourself to do this; API keys cannot');
    const user = await core.findUserById(actor.userId);
    if (!user) throw identityError('auth.invalid_token', 'This account no longer exists');
    return { user, actor };
  }

  async function passwordHash(userId: string): Promise<string | undefined> {
    const row = (await db().selectFrom('user_passwords').select('hash').where('user_id', '=', userId).executeTakeFirst()) as { hash: string } | undefined;
    return row?.hash;
  }

  /** Verifies `password` against the stored hash; failures count toward the account's lockout. */
  async function checkPassword(user: UserRow, stored: string, password: string | undefined, purpose: string, caller: Caller): Promise<void> {
    if (password === undefined) throw identityError('auth.wrong_password', 'Your current password is required');
    const key = `account:${user.email_key}`;
    const state = await throttle.check([key]);
    if (state.locked) throw identityError('auth.account_locked', 'Too many failed attempts; try again later', { details: { retryAfter: state.retryAfter } });
    if (await core.verifyPassword(stored, password)) {
      await throttle.reset(key);
      return;
    }
    await kernel.transaction(async () => {
      const locked = await throttle.fail([{ key, kind: 'account' }]);
      await audit()?.record(caller, { action: 'auth.password.check_failed', target: { type: 'user', id: user.id }, data: { purpose } });
      for (const lock of locked) {
        await audit()?.record(caller, { action: 'auth.lockout', target: { type: 'user', id: user.id }, data: { kind: 'account', seconds: lock.seconds } });
      }
    });
    throw identityError('auth.wrong_password', 'The current password is not correct');
  }

  async function afterCommit(sends: (AfterCommit | false | undefined)[]): Promise<void> {
    for (const send of sends) if (send) await send();
  }

  return {
    async updateProfile(input, caller, options = {}) {
      const { user } = await me(caller);
      const expected = options.expectedVersion;
      if (expected !== undefined && expected !== Number(user.version)) throw versionConflict('user', Number(user.version));
      if (input.name === undefined || input.name === user.name) return core.toUser(user);
      await kernel.transaction(async () => {
        const now = iso(kernel.clock.now());
        // The version is checked again by the update itself: a change that landed since the read above is a 409 too.
        await updateVersioned(db(), {
          table: 'users',
          id: user.id,
          expected,
          set: { name: input.name ?? null, updated_at: now },
          where: (eb) => eb('status', '!=', 'deleted'),
          resource: 'user',
        });
        await audit()?.record(caller, { action: 'auth.profile.updated', target: { type: 'user', id: user.id }, data: { fields: ['name'] } });
      });
      const updated = await core.findUserById(user.id);
      if (!updated) throw identityError('auth.invalid_token', 'This account no longer exists');
      return core.toUser(updated);
    },

    async changePassword(input, caller) {
      const { user, actor } = await me(caller, { person: true });
      const stored = await passwordHash(user.id);
      if (!stored) throw identityError('auth.wrong_password', 'This account has no password yet; set one with a password reset');
      core.assertStrongPassword(input.newPassword, user.email);
      await checkPassword(user, stored, input.currentPassword, 'change_password', caller);
      // Hash before the transaction: a hash held inside it would serialize writers behind SQLite's one writer.
      const hash = await core.hashPassword(input.newPassword);
      const sessionId = actor.kind === 'user' ? actor.sessionId : undefined;
      await kernel.transaction(async () => {
        const now = iso(kernel.clock.now());
        await db().updateTable('user_passwords').set({ hash, updated_at: now }).where('user_id', '=', user.id).execute();
        const revoked = await core.revokeSessions(user.id, { reason: 'password_changed', ...(sessionId ? { exceptSessionId: sessionId } : {}) });
        // Reset links mailed before the change must not undo it.
        await db()
          .updateTable('email_tokens')
          .set({ expires_at: now })
          .where('user_id', '=', user.id)
          .where('purpose', '=', 'password_reset')
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .execute();
        await audit()?.record(caller, { action: 'auth.password.changed', target: { type: 'user', id: user.id }, data: { revokedSessions: revoked } });
      });
      await afterCommit([emailFlows.passwordChangedNotice(user)]);
    },

    async requestEmailChange(input, caller) {
      const { user } = await me(caller, { person: true });
      if (input.email === user.email) {
        throw new PlinthError('validation.failed', 'This is already the email of your account', {
          errors: [{ path: 'body.email', message: 'is already your email address', code: 'unchanged' }],
        });
      }
      const stored = await passwordHash(user.id);
      if (stored) await checkPassword(user, stored, input.password, 'change_email', caller);
      // Sign-up already answers 409 for a taken address, so saying it here reveals nothing new.
      const taken = await db().selectFrom('users').select('id').where('email_key', '=', emailKey(input.email)).where('id', '!=', user.id).executeTakeFirst();
      if (taken) throw identityError('auth.email_taken', 'An account with this email already exists');
      const send = await kernel.transaction(async () => {
        const send = await emailFlows.startEmailChange(user, input.email);
        if (send) await audit()?.record(caller, { action: 'auth.email.change_requested', target: { type: 'user', id: user.id } });
        return send;
      });
      if (!send) kernel.logger.info({ kind: 'identity.change_email' }, 'mail quota reached; message dropped');
      await afterCommit([send]);
    },

    async exportData(caller) {
      const { user } = await me(caller, { person: true });
      const id = user.id;
      const profile = await core.toUser(user);
      const password = (await db().selectFrom('user_passwords').select('updated_at').where('user_id', '=', id).executeTakeFirst()) as { updated_at: string } | undefined;
      const totp = (await db().selectFrom('totp_credentials').select(['created_at', 'confirmed_at']).where('user_id', '=', id).executeTakeFirst()) as
        | { created_at: string; confirmed_at: string | null }
        | undefined;
      const codes = (await db().selectFrom('recovery_codes').select('used_at').where('user_id', '=', id).execute()) as { used_at: string | null }[];
      const sessions = (await db()
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', id)
        .orderBy('id', 'desc')
        .limit(1000)
        .execute()) as SessionRow[];
      const apiKeys = (await db()
        .selectFrom('api_keys')
        .select(['id', 'name', 'prefix', 'scopes', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'])
        .where('user_id', '=', id)
        .orderBy('id', 'desc')
        .execute()) as Record<string, unknown>[];
      const oidc = (await db().selectFrom('oidc_identities').select(['provider', 'subject', 'email', 'created_at']).where('user_id', '=', id).execute()) as Record<string, string | null>[];
      const emailTokens = (await db()
        .selectFrom('email_tokens')
        .select(['purpose', 'email', 'created_at', 'expires_at', 'used_at'])
        .where('user_id', '=', id)
        .orderBy('id', 'desc')
        .limit(100)
        .execute()) as Record<string, string | null>[];
      let organizations: Record<string, unknown>[] | undefined;
      if (hasModule('access')) {
        organizations = (await db()
          .selectFrom('memberships as m')
          .innerJoin('organizations as o', 'o.id', 'm.org_id')
          .select(['o.id as id', 'o.name as name', 'o.slug as slug', 'm.role as role', 'm.created_at as joinedAt'])
          .where('m.user_id', '=', id)
          .orderBy('o.id')
          .execute()) as Record<string, unknown>[];
      }
      const log = audit();
      const events = log ? [...(await log.list({ actorId: id, limit: 1000 })), ...(await log.list({ targetId: id, limit: 1000 }))] : [];
      // Where someone else acted on me (an admin, say), their address and browser are theirs, not mine.
      const auditEvents = [...new Map(events.map((e) => [e.id, e])).values()]
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        // The chain position and hash are the log's integrity data, not the user's.
        .map(({ seq: _seq, hash: _hash, ...e }) => (e.actorType === 'user' && e.actorId === id ? e : { ...e, ip: null, userAgent: null, requestId: null }));
      return {
        exportedAt: iso(kernel.clock.now()),
        profile: { ...profile, emailVerifiedAt: user.email_verified_at },
        password: { set: password !== undefined, updatedAt: password?.updated_at ?? null },
        mfa: {
          totp: totp ? { enrolledAt: totp.created_at, confirmedAt: totp.confirmed_at } : null,
          recoveryCodes: { total: codes.length, remaining: codes.filter((c) => c.used_at === null).length },
        },
        sessions: sessions.map((s) => ({
          ...sessionView(s),
          revokedAt: s.revoked_at,
          revokedReason: s.revoked_reason,
        })),
        apiKeys: apiKeys.map((k) => ({
          id: k.id,
          name: k.name,
          prefix: k.prefix,
          scopes: kernel.storage.fromJson(k.scopes),
          createdAt: k.created_at,
          expiresAt: k.expires_at,
          lastUsedAt: k.last_used_at,
          revokedAt: k.revoked_at,
        })),
        oidcIdentities: oidc.map((o) => ({ provider: o.provider, subject: o.subject, email: o.email, createdAt: o.created_at })),
        emailLinks: emailTokens.map((t) => ({ purpose: t.purpose, email: t.email, createdAt: t.created_at, expiresAt: t.expires_at, usedAt: t.used_at })),
        roles: profile.roles,
        ...(organizations ? { organizations } : {}),
        auditEvents,
      };
    },

    async deleteAccount(input, caller) {
      const { user } = await me(caller, { person: true });
      const stored = await passwordHash(user.id);
      if (stored) await checkPassword(user, stored, input.password, 'delete_account', caller);
      await kernel.transaction(async (tx) => {
        const now = iso(kernel.clock.now());
        const revoked = await core.revokeSessions(user.id, { reason: 'account_deleted' });
        // The sessions hold IP addresses and user agents: erased, not only revoked (refresh tokens cascade).
        await db().deleteFrom('sessions').where('user_id', '=', user.id).execute();
        for (const table of CREDENTIAL_TABLES) await db().deleteFrom(table).where('user_id', '=', user.id).execute();
        await emailFlows.forget(user);
        // Roles and memberships go with the account (when the access module is loaded).
        await kernel.optionalService<{ forgetUser(userId: string): Promise<void> }>('access')?.forgetUser(user.id);
        await db().deleteFrom('auth_throttles').where('key', '=', `account:${user.email_key}`).execute();
        const anonymous = `deleted+${user.id.toLowerCase()}@invalid`;
        await db()
          .updateTable('users')
          .set((eb) => ({
            email: anonymous,
            email_key: anonymous,
            name: null,
            status: 'deleted',
            email_verified_at: null,
            mfa_enabled: false,
            deleted_at: now,
            updated_at: now,
            version: eb('version', '+', 1),
          }))
          .where('id', '=', user.id)
          .execute();
        await audit()?.record(caller, { action: 'auth.account.deleted', target: { type: 'user', id: user.id }, data: { revokedSessions: revoked } });
        await tx.emit({ type: 'user.deleted', aggregate: { type: 'user', id: user.id }, payload: { userId: user.id } });
      });
    },
  };
}

/**
 * Adds the email flows and the account service to the identity service (as `emailFlows`
 * and `account`, where the routes find them) and sends the verification message after
 * every sign-up.
 */
export function withAccount<S extends IdentityCore & { onSignUp(hook: (user: UserRow, caller: Caller) => Promise<void | AfterCommit>): void }>(
  kernel: KernelContext,
  identity: S,
): S & { emailFlows: EmailFlows; account: AccountService } {
  const emailFlows = createEmailFlows(kernel, identity);
  identity.onSignUp((user, caller) => emailFlows.onSignUp(user, caller));
  return Object.assign(identity, { emailFlows, account: createAccountService(kernel, identity, emailFlows) });
}
