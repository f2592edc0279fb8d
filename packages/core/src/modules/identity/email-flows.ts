/**
 * Email verification, password reset and the link step of an email change.
 *
 * - email token: `plv_` (verify_email), `plp_` (password_reset) or `ple_` (change_email)
 *   + 256 random bits, base64url. Only its SHA-256 is stored (`email_tokens`), with the
 *   address it was sent to and an expiry from config. It works once: `used_at` is set in
 *   the transaction that applies it. A new token of a purpose supersedes the user's older
 *   unused ones (their expiry is set to now).
 * - delivery: the token is written in a transaction; the message is sent after commit, so
 *   no write transaction waits on the network. A failed send is logged (never the token)
 *   and the API answers as it would have.
 * - mail quota: at most `MAIL_QUOTA_PER_HOUR` messages per purpose and recipient an hour,
 *   counted in `auth_throttles` under `mail:<purpose>:<user id or address>`; extra
 *   requests are dropped silently (the answer does not change).
 * - password reset never tells whether an address has an account: the same 202, the same
 *   database work (the quota row is written for any address), and the mail goes out in
 *   the background so its latency does not show in the answer.
 */
import type { User } from '../../contract/identity.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import { identityError } from './errors.js';
import { newOpaqueToken, sha256 } from './secure-token.js';
import { createThrottle } from './throttle.js';
import type { Caller, IdentityCore, UserRow } from './types.js';
import { emailKey } from './users.js';
import type { NotificationsService } from '../notifications/service.js';

export type EmailTokenPurpose = 'verify_email' | 'password_reset' | 'change_email';

/** Messages per purpose and recipient in one hour; more are dropped without telling the caller. */
export const MAIL_QUOTA_PER_HOUR = 3;
const HOUR_MS = 3_600_000;

const PREFIX: Record<EmailTokenPurpose, string> = { verify_email: 'plv', password_reset: 'plp', change_email: 'ple' };
const PURPOSE_OF: Record<string, EmailTokenPurpose> = { plv: 'verify_email', plp: 'password_reset', ple: 'change_email' };
const TOKEN_FORMAT = /^(plv|plp|ple)_[A-Za-z0-9_-]{43}$/;
/** Anything shaped like an email token, for scrubbing error messages before they are logged. */
const TOKEN_LIKE = /pl[vpe]_[A-Za-z0-9_-]{20,}/g;

export interface EmailTokenRow {
  id: string;
  user_id: string;
  purpose: EmailTokenPurpose;
  email: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** A message to send once the transaction that made it has committed. */
export type AfterCommit = () => Promise<void>;

export interface EmailFlows {
  /** The sign-up hook: writes a verification token in the sign-up transaction; answers the send, to run after commit. */
  onSignUp(user: UserRow, caller: Caller): Promise<AfterCommit>;
  /** Applies a `plv_` (verify) or `ple_` (email change) token; 400 `auth.invalid_email_token` when unusable. */
  verifyEmail(token: string, caller: Caller): Promise<User>;
  /** Sends the verification message again; nothing when already verified or over the quota. */
  resendVerification(userId: string, caller: Caller): Promise<void>;
  /** Sends a reset link when the address has an active account; answers the same either way. */
  requestPasswordReset(email: string, caller: Caller): Promise<void>;
  /** Sets a new password with a `plp_` token; revokes every session and clears the account's lockout. */
  confirmPasswordReset(input: { token: string; password: string }, caller: Caller): Promise<void>;
  /**
   * Writes a change_email token for `newEmail` (in the current transaction) and answers
   * the sends — the link to the new address, a notice to the old one — to run after commit.
   * `false` when over the quota (nothing to send).
   */
  startEmailChange(user: UserRow, newEmail: string): Promise<AfterCommit | false>;
  /** A notice (no link) that the password changed, to run after commit. */
  passwordChangedNotice(user: UserRow): AfterCommit;
  /** Deletes the user's tokens and mail quotas (account deletion), in the current transaction. */
  forget(user: UserRow): Promise<void>;
  /** Waits for messages still being sent in the background. */
  settled(): Promise<void>;
}

export function createEmailFlows(kernel: KernelContext, core: IdentityCore): EmailFlows {
  const { verifyEmailTtlSeconds, passwordResetTtlSeconds } = kernel.config.auth;
  const ttl: Record<EmailTokenPurpose, number> = { verify_email: verifyEmailTtlSeconds, password_reset: passwordResetTtlSeconds, change_email: verifyEmailTtlSeconds };
  const appUrl = kernel.config.appUrl.replace(/\/+$/, '');
  const throttle = createThrottle(kernel);
  const iso = (ms: number) => new Date(ms).toISOString();
  const audit = () => kernel.optionalService<AuditService>('audit');
  const invalidToken = () => identityError('auth.invalid_email_token', 'This link is not valid, was already used or has expired');
  const background = new Set<Promise<void>>();

  /**
   * Sends one message; a failure is logged (scrubbed of tokens) and swallowed. Messages with
   * template variables go through the notifications module when it is loaded (its templates,
   * delivery tracking and retries); otherwise straight to `kernel.mail`.
   */
  async function deliver(message: { to: string; subject: string; text: string; kind: string; userId?: string; variables?: Record<string, string> }): Promise<void> {
    try {
      const notifications = message.variables ? kernel.optionalService<NotificationsService>('notifications') : undefined;
      if (notifications && message.variables) {
        const sent = await notifications.sendEmailNow({ template: message.kind, to: message.to, userId: message.userId ?? null, variables: message.variables });
        if (sent.status === 'sent') kernel.logger.debug({ kind: message.kind, transport: kernel.mail.name, deliveryId: sent.id }, 'mail sent');
        else if (sent.error) kernel.logger.warn({ kind: message.kind, transport: kernel.mail.name, deliveryId: sent.id, err: sent.error.replace(TOKEN_LIKE, '[redacted]') }, 'mail could not be sent');
        else kernel.logger.debug({ kind: message.kind, transport: kernel.mail.name, deliveryId: sent.id }, 'mail queued');
        return;
      }
      const { variables: _variables, userId: _userId, ...mail } = message;
      await kernel.mail.send(mail);
      kernel.logger.debug({ kind: message.kind, transport: kernel.mail.name }, 'mail sent');
    } catch (error) {
      const reason = String((error as Error)?.message ?? error).replace(TOKEN_LIKE, '[redacted]').slice(0, 300);
      kernel.logger.warn({ kind: message.kind, transport: kernel.mail.name, err: reason }, 'mail could not be sent');
    }
  }

  function inBackground(send: AfterCommit): void {
    const p = send().finally(() => background.delete(p));
    background.add(p);
  }

  /** A new token (in the current transaction); older unused ones of the purpose stop working. */
  async function issue(userId: string, purpose: EmailTokenPurpose, email: string): Promise<string> {
    const now = kernel.clock.now();
    await kernel.db
      .updateTable('email_tokens')
      .set({ expires_at: iso(now) })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', iso(now))
      .execute();
    const token = newOpaqueToken(PREFIX[purpose]);
    const row: EmailTokenRow = {
      id: kernel.ids.next(),
      user_id: userId,
      purpose,
      email,
      token_hash: sha256(token),
      created_at: iso(now),
      expires_at: iso(now + ttl[purpose] * 1000),
      used_at: null,
    };
    await kernel.db.insertInto('email_tokens').values(row).execute();
    return token;
  }

  /** Ends every unused token of these purposes (after a password or address change). */
  /** Marks the account's current address as verified (once: a verified one stays as it is). */
  async function markVerified(user: UserRow, now: string): Promise<void> {
    if (user.email_verified_at !== null) return;
    await kernel.db
      .updateTable('users')
      .set((eb) => ({ email_verified_at: now, updated_at: now, version: eb('version', '+', 1) }))
      .where('id', '=', user.id)
      .execute();
  }

  async function expireAll(userId: string, purposes: EmailTokenPurpose[]): Promise<void> {
    const now = iso(kernel.clock.now());
    await kernel.db
      .updateTable('email_tokens')
      .set({ expires_at: now })
      .where('user_id', '=', userId)
      .where('purpose', 'in', purposes)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .execute();
  }

  /** The stored row of a usable token (unused, unexpired, one of `purposes`), or 400. */
  async function usable(token: string, purposes: EmailTokenPurpose[]): Promise<EmailTokenRow> {
    const match = typeof token === 'string' ? TOKEN_FORMAT.exec(token) : null;
    const purpose = match ? PURPOSE_OF[match[1]!] : undefined;
    if (!purpose || !purposes.includes(purpose)) throw invalidToken();
    const row = (await kernel.db.selectFrom('email_tokens').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst()) as EmailTokenRow | undefined;
    if (!row || row.purpose !== purpose || row.used_at !== null || Date.parse(row.expires_at) <= kernel.clock.now()) throw invalidToken();
    return row;
  }

  /** `usable`, then marks it used — inside the transaction that applies it, so it works once even under races. */
  async function consume(token: string, purposes: EmailTokenPurpose[]): Promise<EmailTokenRow> {
    const row = await usable(token, purposes);
    const result = await kernel.db
      .updateTable('email_tokens')
      .set({ used_at: iso(kernel.clock.now()) })
      .where('id', '=', row.id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw invalidToken();
    return row;
  }

  /** Counts one message toward `key`'s hourly quota (in the current transaction); false when it is used up. */
  async function withinQuota(key: string): Promise<boolean> {
    const now = kernel.clock.now();
    await kernel.db
      .insertInto('auth_throttles')
      .values({ key, failures: 0, window_started_at: iso(now), locked_until: null, lockouts: 0 })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = (await kernel.storage.forUpdate(kernel.db.selectFrom('auth_throttles').select(['failures', 'window_started_at']).where('key', '=', key)).executeTakeFirstOrThrow()) as {
      failures: number;
      window_started_at: string;
    };
    const fresh = now - Date.parse(row.window_started_at) >= HOUR_MS;
    const sent = fresh ? 0 : Number(row.failures);
    if (sent >= MAIL_QUOTA_PER_HOUR) return false;
    await kernel.db
      .updateTable('auth_throttles')
      .set({ failures: sent + 1, window_started_at: fresh ? iso(now) : row.window_started_at })
      .where('key', '=', key)
      .execute();
    return true;
  }

  const hello = (user: UserRow) => (user.name ? `Hello ${user.name},` : 'Hello,');
  const lifetime = (seconds: number) => (seconds % 3600 === 0 ? `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}` : `${Math.round(seconds / 60)} minutes`);

  const messages = {
    verify: (user: UserRow, token: string) => ({
      to: user.email,
      kind: 'identity.verify_email',
      userId: user.id,
      variables: { greeting: hello(user), link: `${appUrl}/verify-email?token=${token}`, lifetime: lifetime(verifyEmailTtlSeconds) },
      subject: 'Confirm your email address',
      text: `${hello(user)}\n\nPlease confirm your email address by opening this link:\n\n${appUrl}/verify-email?token=${token}\n\nThe link works once and expires in ${lifetime(verifyEmailTtlSeconds)}. If you did not create an account, you can ignore this message.\n`,
    }),
    reset: (user: UserRow, token: string) => ({
      to: user.email,
      kind: 'identity.password_reset',
      userId: user.id,
      variables: { greeting: hello(user), link: `${appUrl}/reset-password?token=${token}`, lifetime: lifetime(passwordResetTtlSeconds) },
      subject: 'Reset your password',
      text: `${hello(user)}\n\nSomeone (hopefully you) asked to reset the password of your account. To choose a new password, open this link:\n\n${appUrl}/reset-password?token=${token}\n\nThe link works once and expires in ${lifetime(passwordResetTtlSeconds)}. If you did not ask for this, ignore this message: your password stays as it is.\n`,
    }),
    changeEmail: (user: UserRow, to: string, token: string) => ({
      to,
      kind: 'identity.change_email',
      subject: 'Confirm your new email address',
      text: `${hello(user)}\n\nTo make this address the one of your account, open this link:\n\n${appUrl}/verify-email?token=${token}\n\nThe link works once and expires in ${lifetime(verifyEmailTtlSeconds)}. If you did not ask for this, ignore this message.\n`,
    }),
    changeEmailNotice: (user: UserRow) => ({
      to: user.email,
      kind: 'identity.change_email_notice',
      subject: 'Your email address is about to change',
      text: `${hello(user)}\n\nSomeone signed in to your account asked to move it to another email address. The change happens only when the link sent to the new address is opened. If this was not you, change your password now.\n`,
    }),
    passwordChanged: (user: UserRow) => ({
      to: user.email,
      kind: 'identity.password_changed',
      subject: 'Your password was changed',
      text: `${hello(user)}\n\nThe password of your account was just changed, and your other sessions were signed out. If this was not you, reset your password now.\n`,
    }),
  };

  return {
    async onSignUp(user) {
      const token = await issue(user.id, 'verify_email', user.email);
      return () => deliver(messages.verify(user, token));
    },

    async verifyEmail(token, caller) {
      const userId = await kernel.transaction(async () => {
        const row = await consume(token, ['verify_email', 'change_email']);
        const user = await core.findUserById(row.user_id);
        if (!user) throw invalidToken();
        const now = iso(kernel.clock.now());
        if (row.purpose === 'verify_email') {
          // A link for an address the account no longer has verifies nothing.
          if (emailKey(row.email) !== user.email_key) throw invalidToken();
          await markVerified(user, now);
          await audit()?.record(caller, { action: 'auth.email.verified', target: { type: 'user', id: user.id } });
          return user.id;
        }
        const taken = await kernel.db.selectFrom('users').select('id').where('email_key', '=', emailKey(row.email)).where('id', '!=', user.id).executeTakeFirst();
        if (taken) throw identityError('auth.email_taken', 'An account with this email already exists');
        try {
          await kernel.db
            .updateTable('users')
            .set((eb) => ({ email: row.email, email_key: emailKey(row.email), email_verified_at: now, updated_at: now, version: eb('version', '+', 1) }))
            .where('id', '=', user.id)
            .execute();
        } catch (error) {
          if ((error as { code?: string }).code === 'storage.conflict') throw identityError('auth.email_taken', 'An account with this email already exists');
          throw error;
        }
        // Links sent to the old address (verification, reset) no longer apply.
        await expireAll(user.id, ['verify_email', 'password_reset', 'change_email']);
        await audit()?.record(caller, { action: 'auth.email.changed', target: { type: 'user', id: user.id } });
        return user.id;
      });
      const user = await core.findUserById(userId);
      if (!user) throw invalidToken();
      return core.toUser(user);
    },

    async resendVerification(userId, caller) {
      const user = await core.findUserById(userId);
      if (!user || user.status !== 'active' || user.email_verified_at !== null) return;
      const token = await kernel.transaction(async () => {
        if (!(await withinQuota(`mail:verify_email:${user.id}`))) return null;
        const token = await issue(user.id, 'verify_email', user.email);
        await audit()?.record(caller, { action: 'auth.email.verification_sent', target: { type: 'user', id: user.id } });
        return token;
      });
      if (token) await deliver(messages.verify(user, token));
      else kernel.logger.info({ kind: 'identity.verify_email' }, 'mail quota reached; message dropped');
    },

    async requestPasswordReset(email, caller) {
      const key = emailKey(email);
      const user = await core.findUserByEmail(email);
      // The quota row is written for any address, known or not: the same work either way.
      const token = await kernel.transaction(async () => {
        if (!(await withinQuota(`mail:password_reset:${key}`))) return null;
        if (!user || user.status !== 'active') return null;
        const token = await issue(user.id, 'password_reset', user.email);
        await audit()?.record(caller, { action: 'auth.password_reset.requested', target: { type: 'user', id: user.id } });
        return token;
      });
      if (token && user) inBackground(() => deliver(messages.reset(user, token)));
    },

    async confirmPasswordReset(input, caller) {
      // Checked before hashing, so a bad link costs no hash; checked again (and consumed) in the transaction.
      const found = await usable(input.token, ['password_reset']);
      const user = await core.findUserById(found.user_id);
      if (!user || user.status !== 'active' || emailKey(found.email) !== user.email_key) throw invalidToken();
      core.assertStrongPassword(input.password, user.email);
      // Hash before the transaction: a hash held inside it would serialize writers behind SQLite's one writer.
      const hash = await core.hashPassword(input.password);
      await kernel.transaction(async () => {
        const row = await consume(input.token, ['password_reset']);
        if (row.user_id !== user.id) throw invalidToken();
        const now = iso(kernel.clock.now());
        await kernel.db
          .insertInto('user_passwords')
          .values({ user_id: user.id, hash, updated_at: now })
          .onConflict((oc) => oc.column('user_id').doUpdateSet({ hash, updated_at: now }))
          .execute();
        // The link reached the mailbox: that proves the address too.
        await markVerified(user, now);
        await expireAll(user.id, ['password_reset']);
        const revoked = await core.revokeSessions(user.id, { reason: 'password_reset' });
        await throttle.reset(`account:${user.email_key}`);
        await audit()?.record(caller, { action: 'auth.password.reset', target: { type: 'user', id: user.id }, data: { revokedSessions: revoked } });
      });
    },

    async startEmailChange(user, newEmail) {
      if (!(await withinQuota(`mail:change_email:${user.id}`))) return false;
      const token = await issue(user.id, 'change_email', newEmail);
      return async () => {
        await deliver(messages.changeEmail(user, newEmail, token));
        await deliver(messages.changeEmailNotice(user));
      };
    },

    passwordChangedNotice: (user) => () => deliver(messages.passwordChanged(user)),

    async forget(user) {
      await kernel.db.deleteFrom('email_tokens').where('user_id', '=', user.id).execute();
      await kernel.db
        .deleteFrom('auth_throttles')
        .where('key', 'in', [`mail:verify_email:${user.id}`, `mail:change_email:${user.id}`, `mail:password_reset:${user.email_key}`])
        .execute();
    },

    async settled() {
      while (background.size) await Promise.allSettled([...background]);
      await kernel.optionalService<NotificationsService>('notifications')?.settled();
    },
  };
}
