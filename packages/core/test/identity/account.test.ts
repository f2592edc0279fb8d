/**
 * The signed-in user's account over HTTP, on both dialects: profile, password
 * change, email change, data export and account deletion.
 */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/auth.js';
import { OUTBOX_TABLE } from '../../src/outbox/outbox.js';
import { accessModule } from '../../src/modules/access/index.js';
import type { AccessService } from '../../src/modules/access/service.js';
import { builtinModules } from '../../src/modules/builtins.js';
import type { Caller } from '../../src/modules/identity/types.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { type AccountApp, accountApp, expectNoSecretsLeaked, minutes, PASSWORD } from './support/account-app.js';

const h = useHarness();
const NEW_PASSWORD = 'a brand new passphrase 42';

async function refreshWorks(app: AccountApp, refreshToken: string): Promise<boolean> {
  const res = await app.call('POST', '/v1/auth/refresh', { body: { refreshToken } });
  return res.status === 200;
}

describe.each(dialects)('account on %s', (dialect) => {
  describe('PATCH /v1/me', () => {
    it('updates the name and bumps the version', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('grace@example.com');
      app.clock.advance(minutes(1));
      const res = await app.call('PATCH', '/v1/me', { token: tokens.accessToken, body: { name: '  Grace Hopper ' } });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ id: tokens.user.id, name: 'Grace Hopper', version: 2 });
      expect(res.body.updatedAt).not.toBe(tokens.user.updatedAt);
      expect((await app.call('GET', '/v1/me', { token: tokens.accessToken })).body.name).toBe('Grace Hopper');
      expect(await app.audit('auth.profile.updated')).toHaveLength(1);

      const cleared = await app.call('PATCH', '/v1/me', { token: tokens.accessToken, body: { name: null } });
      expect(cleared.body).toMatchObject({ name: null, version: 3 });
      const unchanged = await app.call('PATCH', '/v1/me', { token: tokens.accessToken, body: {} });
      expect(unchanged.body.version).toBe(3);
    });

    it('answers 422 for a bad name or an unknown field, and 401 without a token', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('val@example.com');
      for (const body of [{ name: 'x'.repeat(101) }, { name: '' }, { email: 'other@example.com' }, { name: 42 }]) {
        const res = await app.call('PATCH', '/v1/me', { token: tokens.accessToken, body });
        expect(res.status, JSON.stringify(body)).toBe(422);
        expect(res.body.code).toBe('validation.failed');
      }
      const anonymous = await app.call('PATCH', '/v1/me', { body: { name: 'Nobody' } });
      expect(anonymous.status).toBe(401);
      expect((await app.call('GET', '/v1/me', { token: tokens.accessToken })).body.version).toBe(1);
    });
  });

  describe('POST /v1/me/password', () => {
    it('changes the password and revokes every other session but keeps the current one', async () => {
      const app = await accountApp(h, dialect);
      const current = await app.signUp('pat@example.com');
      const other = (await app.signIn('pat@example.com')).body;
      const res = await app.call('POST', '/v1/me/password', { token: current.accessToken, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ ok: true });

      expect(await refreshWorks(app, other.refreshToken)).toBe(false);
      expect(await refreshWorks(app, current.refreshToken)).toBe(true);
      expect((await app.signIn('pat@example.com')).status).toBe(401);
      expect((await app.signIn('pat@example.com', NEW_PASSWORD)).status).toBe(200);
      expect(await app.audit('auth.password.changed')).toMatchObject([{ actorId: current.user.id, targetId: current.user.id, data: { revokedSessions: 1 } }]);
      const [notice] = app.messagesTo('pat@example.com', 'identity.password_changed');
      expect(notice!.text).not.toMatch(/token=/);
    });

    it('answers 403 for a wrong current password and counts it toward the lockout', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('guess@example.com');
      const wrong = await app.call('POST', '/v1/me/password', { token: tokens.accessToken, body: { currentPassword: 'not it at all', newPassword: NEW_PASSWORD } });
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('auth.wrong_password');
      expect(await app.audit('auth.password.check_failed')).toMatchObject([{ targetId: tokens.user.id, data: { purpose: 'change_password' } }]);
      for (let i = 0; i < 4; i++) {
        await app.call('POST', '/v1/me/password', { token: tokens.accessToken, body: { currentPassword: `wrong ${i} guess`, newPassword: NEW_PASSWORD } });
      }
      const locked = await app.call('POST', '/v1/me/password', { token: tokens.accessToken, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
      expect(locked.status).toBe(429);
      expect(locked.body.code).toBe('auth.account_locked');
      expect((await app.signIn('guess@example.com')).body.code).toBe('auth.account_locked');
      expect(await app.audit('auth.lockout')).toHaveLength(1);
      app.clock.advance(minutes(2));
      // The old password still works: nothing was changed.
      expect((await app.signIn('guess@example.com')).status).toBe(200);
    });

    it('answers 422 for a short or common new password, and 401 without a token', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('weak@example.com');
      const short = await app.call('POST', '/v1/me/password', { token: tokens.accessToken, body: { currentPassword: PASSWORD, newPassword: 'short' } });
      expect(short.status).toBe(422);
      expect(short.body.code).toBe('validation.failed');
      const common = await app.call('POST', '/v1/me/password', { token: tokens.accessToken, body: { currentPassword: PASSWORD, newPassword: 'password123' } });
      expect(common.status).toBe(422);
      expect(common.body.code).toBe('auth.weak_password');
      const anonymous = await app.call('POST', '/v1/me/password', { body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
      expect(anonymous.status).toBe(401);
      expect((await app.signIn('weak@example.com')).status).toBe(200);
    });

    it('refuses API-key actors: changing a password, email, exporting or deleting needs a person', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('robot@example.com');
      const keyActor: Actor = { kind: 'api_key', keyId: 'key-1', userId: tokens.user.id, roles: ['customer'], scopes: [] };
      const caller: Caller = { actor: keyActor, ip: '127.0.0.1' };
      const { account } = app.services();
      const attempts = [
        account.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, caller),
        account.requestEmailChange({ email: 'bot@example.com', password: PASSWORD }, caller),
        account.exportData(caller),
        account.deleteAccount({ password: PASSWORD }, caller),
      ];
      for (const attempt of attempts) await expect(attempt).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
      // The profile is fine for a key.
      expect(await account.updateProfile({ name: 'Robot' }, caller)).toMatchObject({ name: 'Robot' });
    });
  });

  describe('POST /v1/me/email', () => {
    it('mails a link to the new address and a notice to the old one; the change applies when the link is opened', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('old@example.com');
      const res = await app.call('POST', '/v1/me/email', { token: tokens.accessToken, body: { email: 'New@Example.COM', password: PASSWORD } });
      expect(res.status, res.text).toBe(202);
      expect(res.body).toEqual({ accepted: true });

      const [link] = app.messagesTo('New@example.com', 'identity.change_email');
      expect(link!.text).toMatch(/https:\/\/app\.example\/verify-email\?token=ple_[\w-]{43}\n/);
      const [notice] = app.messagesTo('old@example.com', 'identity.change_email_notice');
      expect(notice!.text).not.toMatch(/token=|ple_/);
      expect((await app.call('GET', '/v1/me', { token: tokens.accessToken })).body.email).toBe('old@example.com');

      const token = app.linkToken('New@example.com', 'identity.change_email');
      const verified = await app.call('POST', '/v1/auth/verify-email', { body: { token } });
      expect(verified.status, verified.text).toBe(200);
      expect(verified.body.user).toMatchObject({ email: 'New@example.com', emailVerified: true });
      expect((await app.signIn('old@example.com')).status).toBe(401);
      expect((await app.signIn('new@example.com')).status).toBe(200);
      expect(await app.audit('auth.email.changed')).toHaveLength(1);
      // The sign-up link was for the old address: it verifies nothing any more.
      const oldVerify = app.linkToken('old@example.com', 'identity.verify_email');
      expect((await app.call('POST', '/v1/auth/verify-email', { body: { token: oldVerify } })).status).toBe(400);
      expect((await app.call('POST', '/v1/auth/verify-email', { body: { token } })).status).toBe(400);
    });

    it('answers 409 when the address belongs to another account, at request or when the link is opened', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('mover@example.com');
      await app.signUp('taken@example.com');
      const early = await app.call('POST', '/v1/me/email', { token: tokens.accessToken, body: { email: 'TAKEN@example.com', password: PASSWORD } });
      expect(early.status).toBe(409);
      expect(early.body.code).toBe('auth.email_taken');

      await app.call('POST', '/v1/me/email', { token: tokens.accessToken, body: { email: 'later@example.com', password: PASSWORD } });
      const token = app.linkToken('later@example.com', 'identity.change_email');
      await app.signUp('later@example.com');
      const late = await app.call('POST', '/v1/auth/verify-email', { body: { token } });
      expect(late.status).toBe(409);
      expect(late.body.code).toBe('auth.email_taken');
      expect((await app.call('GET', '/v1/me', { token: tokens.accessToken })).body.email).toBe('mover@example.com');
    });

    it('answers 403 for a missing or wrong password, 422 for a bad address, 401 without a token', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('strict@example.com');
      const missing = await app.call('POST', '/v1/me/email', { token: tokens.accessToken, body: { email: 'x@example.com' } });
      expect(missing.status).toBe(403);
      expect(missing.body.code).toBe('auth.wrong_password');
      const wrong = await app.call('POST', '/v1/me/email', { token: tokens.accessToken, body: { email: 'x@example.com', password: 'nope nope nope' } });
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('auth.wrong_password');
      const bad = await app.call('POST', '/v1/me/email', { token: tokens.accessToken, body: { email: 'not-an-address', password: PASSWORD } });
      expect(bad.status).toBe(422);
      const same = await app.call('POST', '/v1/me/email', { token: tokens.accessToken, body: { email: 'strict@example.com', password: PASSWORD } });
      expect(same.status).toBe(422);
      const anonymous = await app.call('POST', '/v1/me/email', { body: { email: 'x@example.com', password: PASSWORD } });
      expect(anonymous.status).toBe(401);
      expect(app.messagesTo('x@example.com')).toHaveLength(0);
    });
  });

  describe('GET /v1/me/export', () => {
    it('exports profile, sessions, roles, organizations and audit events, without hashes or secrets', async () => {
      const modules = builtinModules.some((m) => m.name === 'access') ? [] : [accessModule];
      const app = await accountApp(h, dialect, { modules });
      const tokens = await app.signUp('export@example.com', { name: 'Exporter' });
      const second = (await app.signIn('export@example.com')).body;
      const access = app.plinth.service<AccessService>('access');
      const org = await access.createOrg({ name: 'Acme', slug: 'acme', ownerId: tokens.user.id }, { actor: { kind: 'system', name: 'test' } });

      const res = await app.call('GET', '/v1/me/export', { token: tokens.accessToken });
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-disposition')).toContain('attachment');
      const data = res.body;
      expect(data.profile).toMatchObject({ id: tokens.user.id, email: 'export@example.com', name: 'Exporter', emailVerified: false });
      expect(data.password).toMatchObject({ set: true });
      expect(data.sessions).toHaveLength(2);
      expect(data.sessions[0]).toMatchObject({ authMethod: 'password', ip: expect.any(String) });
      expect(data.roles).toEqual(tokens.user.roles);
      expect(data.organizations).toMatchObject([{ id: org.id, name: 'Acme', slug: 'acme', role: 'owner' }]);
      expect(data.emailLinks).toMatchObject([{ purpose: 'verify_email', email: 'export@example.com' }]);
      const actions = data.auditEvents.map((e: { action: string }) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['auth.signed_up', 'auth.sign_in.succeeded']));
      expect(data.apiKeys).toEqual([]);

      const text = res.text;
      const stored = await app.plinth.db.selectFrom('user_passwords').select('hash').executeTakeFirstOrThrow();
      const tokenHashes = (await app.plinth.db.selectFrom('refresh_tokens').select('token_hash').execute()).map((r) => r.token_hash);
      for (const secret of [stored.hash, '$argon2', PASSWORD, tokens.refreshToken, second.refreshToken, ...tokenHashes]) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/hash|secret/i);
    });

    it('answers 401 without a token', async () => {
      const app = await accountApp(h, dialect);
      expect((await app.call('GET', '/v1/me/export')).status).toBe(401);
    });
  });

  describe('DELETE /v1/me', () => {
    it('revokes everything, anonymizes the user row, emits user.deleted and frees the address', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('leaving@example.com', { name: 'Leaving Soon' });
      const other = (await app.signIn('leaving@example.com')).body;
      // Rows keyed by the address: a failed sign-in and a reset request.
      await app.signIn('leaving@example.com', 'a wrong password here');
      await app.call('POST', '/v1/auth/password-reset', { body: { email: 'leaving@example.com' } });
      const keyed = () => app.plinth.db.selectFrom('auth_throttles').select('key').where('key', 'like', '%leaving@example.com%').execute();
      expect(await keyed()).toHaveLength(2);
      const res = await app.call('DELETE', '/v1/me', { token: tokens.accessToken, body: { password: PASSWORD } });
      expect(res.status, res.text).toBe(204);
      expect(await keyed()).toHaveLength(0);

      const me = await app.call('GET', '/v1/me', { token: tokens.accessToken });
      expect(me.status).toBe(401);
      expect((await app.call('GET', '/v1/me/export', { token: tokens.accessToken })).status).toBe(401);
      expect((await app.call('PATCH', '/v1/me', { token: other.accessToken, body: { name: 'Ghost' } })).status).toBe(401);
      expect(await refreshWorks(app, tokens.refreshToken)).toBe(false);
      expect(await refreshWorks(app, other.refreshToken)).toBe(false);
      const signIn = await app.signIn('leaving@example.com');
      expect(signIn.status).toBe(401);
      expect(signIn.body.code).toBe('auth.invalid_credentials');

      const row = await app.plinth.db.selectFrom('users').selectAll().where('id', '=', tokens.user.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'deleted', name: null, email_verified_at: null, email: `deleted+${tokens.user.id.toLowerCase()}@invalid` });
      expect(row.email_key).toBe(row.email);
      expect(row.deleted_at).not.toBeNull();
      for (const table of ['user_passwords', 'sessions', 'email_tokens', 'api_keys', 'totp_credentials', 'recovery_codes', 'oidc_identities']) {
        const left = await app.plinth.db.selectFrom(table).selectAll().where('user_id', '=', tokens.user.id).execute();
        expect(left, table).toHaveLength(0);
      }
      const events = await app.plinth.db.selectFrom(OUTBOX_TABLE).selectAll().where('type', '=', 'user.deleted').execute();
      expect(events).toHaveLength(1);
      expect(events[0]!.aggregate_id).toBe(tokens.user.id);
      expect(await app.audit('auth.account.deleted')).toMatchObject([{ actorId: tokens.user.id, targetId: tokens.user.id, data: { revokedSessions: 2 } }]);

      // A reset for the old address is answered as for any unknown one.
      const reset = await app.call('POST', '/v1/auth/password-reset', { body: { email: 'leaving@example.com' } });
      expect(reset.status).toBe(202);
      await app.settled();
      expect(app.messagesTo('leaving@example.com', 'identity.password_reset')).toHaveLength(1); // the one asked for before deleting

      const again = await app.signUp('leaving@example.com');
      expect(again.user.id).not.toBe(tokens.user.id);
      expect(again.user.name).toBeNull();
    });

    it('answers 403 for a missing or wrong password and 401 without a token, deleting nothing', async () => {
      const app = await accountApp(h, dialect);
      const tokens = await app.signUp('stays@example.com');
      const missing = await app.call('DELETE', '/v1/me', { token: tokens.accessToken, body: {} });
      expect(missing.status).toBe(403);
      expect(missing.body.code).toBe('auth.wrong_password');
      const wrong = await app.call('DELETE', '/v1/me', { token: tokens.accessToken, body: { password: 'this is not it' } });
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('auth.wrong_password');
      const invalid = await app.call('DELETE', '/v1/me', { token: tokens.accessToken, body: { password: 12345 } });
      expect(invalid.status).toBe(422);
      const anonymous = await app.call('DELETE', '/v1/me', { body: { password: PASSWORD } });
      expect(anonymous.status).toBe(401);
      expect((await app.call('GET', '/v1/me', { token: tokens.accessToken })).status).toBe(200);
      expect(await app.audit('auth.account.deleted')).toHaveLength(0);
    });
  });

  it('writes no password or token to any log line or audit event', async () => {
    const app = await accountApp(h, dialect);
    const tokens = await app.signUp('secretive@example.com');
    await app.call('POST', '/v1/me/password', { token: tokens.accessToken, body: { currentPassword: 'wrong guess here', newPassword: NEW_PASSWORD } });
    await app.call('POST', '/v1/me/password', { token: tokens.accessToken, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
    await app.call('POST', '/v1/me/email', { token: tokens.accessToken, body: { email: 'moved@example.com', password: NEW_PASSWORD } });
    const change = app.linkToken('moved@example.com', 'identity.change_email');
    await app.call('POST', '/v1/auth/verify-email', { body: { token: change } });
    await app.call('GET', '/v1/me/export', { token: tokens.accessToken });
    await app.call('DELETE', '/v1/me', { token: tokens.accessToken, body: { password: NEW_PASSWORD } });
    await expectNoSecretsLeaked(app, [PASSWORD, NEW_PASSWORD, 'wrong guess here', change, tokens.accessToken, tokens.refreshToken]);
  });
});
