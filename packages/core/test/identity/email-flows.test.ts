/**
 * Email verification and password reset over HTTP, on both dialects: links
 * that work once and expire, resends, a reset that never tells whether an
 * address has an account, and no token or password in any log or audit event.
 */
import { describe, expect, it } from 'vitest';
import type { MailTransport } from '../../src/mail/mail-transport.js';
import { sha256 } from '../../src/modules/identity/secure-token.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { accountApp, expectNoSecretsLeaked, hours, PASSWORD } from './support/account-app.js';

const h = useHarness();
const NEW_PASSWORD = 'a brand new passphrase 42';

describe.each(dialects)('email flows on %s', (dialect) => {
  describe('email verification', () => {
    it('mails a single-use link at sign-up; opening it verifies the address', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('Ada@Example.com', { name: 'Ada' });
      expect(tokens.user.emailVerified).toBe(false);

      const [message] = app.messagesTo('Ada@example.com', 'identity.verify_email');
      expect(message!.subject).toMatch(/confirm/i);
      expect(message!.text).toMatch(/^Hello Ada,/);
      expect(message!.text).toMatch(/https:\/\/app\.example\/verify-email\?token=plv_[\w-]{43}\n/);
      const token = app.linkToken('Ada@example.com', 'identity.verify_email');
      const stored = await app.plinth.db.selectFrom('email_tokens').selectAll().execute();
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ purpose: 'verify_email', token_hash: sha256(token), used_at: null });

      const verified = await app.call('POST', '/v1/auth/verify-email', { body: { token } });
      expect(verified.status, verified.text).toBe(200);
      expect(verified.body.user).toMatchObject({ id: tokens.user.id, email: 'Ada@example.com', emailVerified: true, version: 2 });
      const me = await app.call('GET', '/v1/me', { token: tokens.accessToken });
      expect(me.body.emailVerified).toBe(true);
      expect(await app.audit('auth.email.verified')).toMatchObject([{ targetId: tokens.user.id, actorType: 'anonymous' }]);

      const again = await app.call('POST', '/v1/auth/verify-email', { body: { token } });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('auth.invalid_email_token');
    });

    it('sends the message only after the sign-up commits, and nothing for a failed sign-up', async () => {
      const seen: { userVisible: boolean; tokenVisible: boolean }[] = [];
      let app: Awaited<ReturnType<typeof accountApp>> | undefined;
      const transport: MailTransport = {
        name: 'probe',
        async send() {
          // A query outside the sign-up transaction: it sees the rows only once they are committed
          // (on SQLite it would wait for the one connection while the transaction is open).
          const outside = app!.plinth.storage.db;
          const probe = Promise.all([
            outside.selectFrom('users').select('id').where('email_key', '=', 'probe@example.com').executeTakeFirst(),
            outside.selectFrom('email_tokens').select('id').executeTakeFirst(),
          ]);
          const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000));
          const rows = await Promise.race([probe, timeout]);
          seen.push({ userVisible: Boolean(rows?.[0]), tokenVisible: Boolean(rows?.[1]) });
        },
      };
      app = await accountApp(h, dialect, { transport });
      await app.signUp('probe@example.com');
      expect(seen).toEqual([{ userVisible: true, tokenVisible: true }]);
      const duplicate = await app.call('POST', '/v1/auth/sign-up', { body: { email: 'PROBE@example.com', password: PASSWORD } });
      expect(duplicate.status).toBe(409);
      expect(seen).toHaveLength(1);
      expect(await app.plinth.db.selectFrom('email_tokens').selectAll().execute()).toHaveLength(1);
    });

    it('rejects an expired verification link', async () => {
      const app = await accountApp(h, dialect);
      await app.signUp('late@example.com');
      const token = app.linkToken('late@example.com', 'identity.verify_email');
      app.clock.advance(hours(24) + 1000);
      const res = await app.call('POST', '/v1/auth/verify-email', { body: { token } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('auth.invalid_email_token');
      const row = await app.plinth.db.selectFrom('users').select('email_verified_at').executeTakeFirstOrThrow();
      expect(row.email_verified_at).toBeNull();
    });

    it('answers 422 for a missing token and 400 for junk, unknown or wrong-purpose tokens', async () => {
      const app = await accountApp(h, dialect);
      const missing = await app.call('POST', '/v1/auth/verify-email', { body: {} });
      expect(missing.status).toBe(422);
      expect(missing.body.code).toBe('validation.failed');
      const extra = await app.call('POST', '/v1/auth/verify-email', { body: { token: 'x', admin: true } });
      expect(extra.status).toBe(422);
      for (const token of ['nonsense', `plv_${'A'.repeat(43)}`, `plx_${'A'.repeat(43)}`]) {
        const res = await app.call('POST', '/v1/auth/verify-email', { body: { token } });
        expect(res.status, token).toBe(400);
        expect(res.body.code).toBe('auth.invalid_email_token');
      }
      // A reset link is no verification link.
      await app.signUp('mixed@example.com');
      await app.call('POST', '/v1/auth/password-reset', { body: { email: 'mixed@example.com' } });
      await app.settled();
      const reset = app.linkToken('mixed@example.com', 'identity.password_reset');
      const res = await app.call('POST', '/v1/auth/verify-email', { body: { token: reset } });
      expect(res.status).toBe(400);
    });

    it('resends a link to a signed-in user (the older link stops working), and nothing once verified', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('resend@example.com');
      const first = app.linkToken('resend@example.com', 'identity.verify_email');

      const anonymous = await app.call('POST', '/v1/auth/verify-email/resend');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe('auth.unauthenticated');

      const res = await app.call('POST', '/v1/auth/verify-email/resend', { token: tokens.accessToken });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ accepted: true });
      expect(app.messagesTo('resend@example.com', 'identity.verify_email')).toHaveLength(2);
      const second = app.linkToken('resend@example.com', 'identity.verify_email');
      expect(second).not.toBe(first);

      expect((await app.call('POST', '/v1/auth/verify-email', { body: { token: first } })).status).toBe(400);
      expect((await app.call('POST', '/v1/auth/verify-email', { body: { token: second } })).status).toBe(200);

      const after = await app.call('POST', '/v1/auth/verify-email/resend', { token: tokens.accessToken });
      expect(after.status).toBe(202);
      expect(app.messagesTo('resend@example.com')).toHaveLength(2);
    });

    it('sends at most three resends an hour, still answering 202', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('eager@example.com');
      for (let i = 0; i < 5; i++) {
        const res = await app.call('POST', '/v1/auth/verify-email/resend', { token: tokens.accessToken });
        expect(res.status).toBe(202);
      }
      expect(app.messagesTo('eager@example.com', 'identity.verify_email')).toHaveLength(1 + 3);
      app.clock.advance(hours(1));
      const signedIn = await app.signIn('eager@example.com'); // the access token expired meanwhile
      await app.call('POST', '/v1/auth/verify-email/resend', { token: signedIn.body.accessToken });
      expect(app.messagesTo('eager@example.com', 'identity.verify_email')).toHaveLength(5);
    });
  });

  describe('password reset', () => {
    it('answers the same status and body for a known and an unknown address, and mails only the known one', async () => {
      const app = await accountApp(h, dialect);
      await app.signUp('known@example.com');
      const known = await app.call('POST', '/v1/auth/password-reset', { body: { email: 'KNOWN@example.com' } });
      const unknown = await app.call('POST', '/v1/auth/password-reset', { body: { email: 'nobody@example.com' } });
      await app.settled();
      expect(known.status).toBe(202);
      expect(unknown.status).toBe(202);
      expect(unknown.text).toBe(known.text);
      expect(known.body).toEqual({ accepted: true });
      expect(unknown.headers.get('content-type')).toBe(known.headers.get('content-type'));
      expect(unknown.headers.get('content-length')).toBe(known.headers.get('content-length'));

      const [message] = app.messagesTo('known@example.com', 'identity.password_reset');
      expect(message!.text).toMatch(/https:\/\/app\.example\/reset-password\?token=plp_[\w-]{43}\n/);
      expect(app.messagesTo('nobody@example.com')).toHaveLength(0);
      // Both addresses did the same bookkeeping.
      const quotas = await app.plinth.db.selectFrom('auth_throttles').select('key').where('key', 'like', 'mail:password_reset:%').orderBy('key').execute();
      expect(quotas.map((q) => q.key)).toEqual(['mail:password_reset:known@example.com', 'mail:password_reset:nobody@example.com']);
    });

    it('answers 422 for a missing email', async () => {
      const app = await accountApp(h, dialect);
      const res = await app.call('POST', '/v1/auth/password-reset', { body: {} });
      expect(res.status).toBe(422);
      expect(res.body.errors[0].path).toBe('body.email');
    });

    it('mails at most three reset links an hour per address, silently', async () => {
      const app = await accountApp(h, dialect);
      await app.signUp('flood@example.com');
      for (let i = 0; i < 6; i++) {
        const res = await app.call('POST', '/v1/auth/password-reset', { body: { email: 'flood@example.com' } });
        expect(res.status).toBe(202);
        expect(res.body).toEqual({ accepted: true });
      }
      await app.settled();
      expect(app.messagesTo('flood@example.com', 'identity.password_reset')).toHaveLength(3);
      app.clock.advance(hours(1));
      await app.call('POST', '/v1/auth/password-reset', { body: { email: 'flood@example.com' } });
      await app.settled();
      expect(app.messagesTo('flood@example.com', 'identity.password_reset')).toHaveLength(4);
    });

    it('sets the new password, revokes every session, clears the lockout and audits it', async () => {
      const app = await accountApp(h, dialect);
      const first = await app.signUp('reset@example.com');
      const secondSignIn = await app.signIn('reset@example.com');
      expect(secondSignIn.status).toBe(200);
      // Lock the account with failed sign-ins.
      for (let i = 0; i < 5; i++) await app.signIn('reset@example.com', 'not the password at all');
      expect((await app.signIn('reset@example.com')).body.code).toBe('auth.account_locked');

      await app.call('POST', '/v1/auth/password-reset', { body: { email: 'reset@example.com' } });
      await app.settled();
      const token = app.linkToken('reset@example.com', 'identity.password_reset');
      const res = await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token, password: NEW_PASSWORD } });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ ok: true });

      for (const refreshToken of [first.refreshToken, secondSignIn.body.refreshToken]) {
        const refresh = await app.call('POST', '/v1/auth/refresh', { body: { refreshToken } });
        expect(refresh.status).toBe(401);
      }
      expect((await app.signIn('reset@example.com')).status).toBe(401);
      const signedIn = await app.signIn('reset@example.com', NEW_PASSWORD);
      expect(signedIn.status, signedIn.text).toBe(200);
      // The link reached the mailbox, so the address counts as verified.
      expect(signedIn.body.user.emailVerified).toBe(true);
      expect(await app.audit('auth.password.reset')).toMatchObject([{ targetId: first.user.id, data: { revokedSessions: 2 } }]);

      const again = await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token, password: 'yet another passphrase 7' } });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('auth.invalid_email_token');
    });

    it('rejects an expired or superseded reset link, and a weak password without using the link up', async () => {
      const app = await accountApp(h, dialect);
      await app.signUp('careful@example.com');
      await app.call('POST', '/v1/auth/password-reset', { body: { email: 'careful@example.com' } });
      await app.settled();
      const older = app.linkToken('careful@example.com', 'identity.password_reset');
      await app.call('POST', '/v1/auth/password-reset', { body: { email: 'careful@example.com' } });
      await app.settled();
      const newer = app.linkToken('careful@example.com', 'identity.password_reset');

      const superseded = await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token: older, password: NEW_PASSWORD } });
      expect(superseded.status).toBe(400);
      expect(superseded.body.code).toBe('auth.invalid_email_token');

      const weak = await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token: newer, password: 'password123' } });
      expect(weak.status).toBe(422);
      expect(weak.body.code).toBe('auth.weak_password');
      const short = await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token: newer, password: 'short' } });
      expect(short.status).toBe(422);
      expect(short.body.code).toBe('validation.failed');

      app.clock.advance(hours(1) + 1000);
      const expired = await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token: newer, password: NEW_PASSWORD } });
      expect(expired.status).toBe(400);
      expect(expired.body.code).toBe('auth.invalid_email_token');
      expect((await app.signIn('careful@example.com')).status).toBe(200);
    });

    it('lets exactly one of two concurrent confirmations with the same link win', async () => {
      const app = await accountApp(h, dialect);
      await app.signUp('race@example.com');
      await app.call('POST', '/v1/auth/password-reset', { body: { email: 'race@example.com' } });
      await app.settled();
      const token = app.linkToken('race@example.com', 'identity.password_reset');
      const results = await Promise.all(
        ['first passphrase here 1', 'second passphrase here 2'].map((password) => app.call('POST', '/v1/auth/password-reset/confirm', { body: { token, password } })),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
      expect(await app.audit('auth.password.reset')).toHaveLength(1);
    });
  });

  it('still answers as designed when the mail cannot be sent, and logs no token', async () => {
    const failing: MailTransport = {
      name: 'broken',
      async send(message) {
        throw new Error(`SMTP refused the message: ${message.text}`);
      },
    };
    const app = await accountApp(h, dialect, { transport: failing });
    const tokens = await app.signUp('unlucky@example.com');
    const reset = await app.call('POST', '/v1/auth/password-reset', { body: { email: 'unlucky@example.com' } });
    expect(reset.status).toBe(202);
    await app.settled();
    const resend = await app.call('POST', '/v1/auth/verify-email/resend', { token: tokens.accessToken });
    expect(resend.status).toBe(202);

    const warnings = app.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'mail could not be sent');
    expect(warnings.map((w) => w.kind).sort()).toEqual(['identity.password_reset', 'identity.verify_email', 'identity.verify_email']);
    expect(warnings.every((w) => w.level === 40)).toBe(true);
    const tokensInDb = await app.plinth.db.selectFrom('email_tokens').select('token_hash').execute();
    expect(tokensInDb).toHaveLength(3);
    const logText = app.logLines.join('');
    expect(logText).not.toMatch(/pl[vpe]_[\w-]{20,}/);
    expect(logText).toContain('[redacted]');
  });

  it('writes no token or password to any log line or audit event', async () => {
    const app = await accountApp(h, dialect);
    const tokens = await app.signUp('quiet@example.com');
    const verify = app.linkToken('quiet@example.com', 'identity.verify_email');
    await app.call('POST', '/v1/auth/verify-email', { body: { token: verify } });
    await app.call('POST', '/v1/auth/verify-email', { body: { token: verify } }); // reused: logged as a 400
    await app.call('POST', '/v1/auth/password-reset', { body: { email: 'quiet@example.com' } });
    await app.settled();
    const reset = app.linkToken('quiet@example.com', 'identity.password_reset');
    await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token: reset, password: 'password123' } }); // weak
    await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token: reset, password: NEW_PASSWORD } });
    await app.call('POST', '/v1/auth/password-reset/confirm', { body: { token: reset, password: NEW_PASSWORD } }); // reused
    expect(app.logLines.some((l) => l.includes('"msg":"mail sent"'))).toBe(true);
    await expectNoSecretsLeaked(app, [verify, reset, PASSWORD, NEW_PASSWORD, 'password123', tokens.accessToken, tokens.refreshToken]);
  });
});
