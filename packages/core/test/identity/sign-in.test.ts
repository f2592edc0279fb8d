import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { startApp, signUp, type TestApp } from '../support/app.js';
import { useHarness } from '../support/harness.js';

/** The parts of a problem that must not differ between two answers. */
const shape = (r: { status: number; body: any }) => ({ status: r.status, code: r.body.code, title: r.body.title, detail: r.body.detail, keys: Object.keys(r.body).sort() });

function expectNoSecrets(app: TestApp, secrets: string[]) {
  const text = app.logs.join('\n');
  for (const secret of secrets) expect(text.includes(secret), `a log line contains ${secret.slice(0, 12)}…`).toBe(false);
}

describe.each(dialects)('sign-up and sign-in on %s', (dialect) => {
  const h = useHarness();

  it('normalizes emails, keeps one account per mailbox, and signs in whatever the case', async () => {
    const app = await startApp(h, dialect);
    const up = await app.call('POST', '/v1/auth/sign-up', { body: { email: '  Ann.Lee@EXAMPLE.Com ', password: 'correct horse battery', name: 'Ann' } });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { email: 'Ann.Lee@example.com', name: 'Ann', emailVerified: false, mfaEnabled: false, status: 'active' } });
    expect(up.body.refreshToken).toMatch(/^plr_[A-Za-z0-9_-]{43}$/);
    expect(up.body.accessToken.split('.')).toHaveLength(3);

    const twin = await app.call('POST', '/v1/auth/sign-up', { body: { email: 'ann.lee@example.com', password: 'another good one' } });
    expect(twin.status).toBe(409);
    expect(twin.body.code).toBe('auth.email_taken');

    const signIn = await app.call('POST', '/v1/auth/sign-in', { body: { email: 'ANN.LEE@example.COM', password: 'correct horse battery' } });
    expect(signIn.status).toBe(200);
    expect(signIn.body.user.id).toBe(up.body.user.id);
    const me = await app.call('GET', '/v1/me', { token: signIn.body.accessToken });
    expect(me.body).toMatchObject({ id: up.body.user.id, email: 'Ann.Lee@example.com' });
  });

  it('rejects weak, short, long and malformed sign-ups with 422 and creates nothing', async () => {
    const app = await startApp(h, dialect);
    const cases: [unknown, string][] = [
      [{ email: 'a@example.com', password: 'password1' }, 'auth.weak_password'],
      [{ email: 'a@example.com', password: 'iloveyou123' }, 'auth.weak_password'],
      [{ email: 'robertson@example.com', password: 'robertson2026' }, 'auth.weak_password'],
      [{ email: 'a@example.com', password: 'short' }, 'validation.failed'],
      [{ email: 'a@example.com', password: 'x'.repeat(129) }, 'validation.failed'],
      [{ email: 'not-an-email', password: 'correct horse battery' }, 'validation.failed'],
      [{ email: 'a@example.com', password: 'correct horse battery', role: 'admin' }, 'validation.failed'],
      [{ email: 'a@example.com', password: 12345678 }, 'validation.failed'],
    ];
    for (const [body, code] of cases) {
      const res = await app.call('POST', '/v1/auth/sign-up', { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.code).toBe(code);
    }
    expect(await app.plinth.db.selectFrom('users').select('id').execute()).toEqual([]);
  });

  it('answers an unknown email exactly like a wrong password', async () => {
    const app = await startApp(h, dialect);
    const { email } = await signUp(app);
    const wrong = await app.call('POST', '/v1/auth/sign-in', { body: { email, password: 'not the password' } });
    const unknown = await app.call('POST', '/v1/auth/sign-in', { body: { email: 'nobody@example.com', password: 'not the password' } });
    expect(wrong.status).toBe(401);
    expect(shape(unknown)).toEqual(shape(wrong));
    expect(wrong.body.code).toBe('auth.invalid_credentials');
    const failures = await app.plinth.service<any>('audit').list({ action: 'auth.sign_in.failed' });
    expect(failures.map((e: any) => e.data.reason).sort()).toEqual(['unknown_email', 'wrong_password']);
  });

  it('re-hashes a password made with older parameters on the next sign-in', async () => {
    const db = await h.database(dialect);
    const first = await startApp(h, dialect, { db });
    const { email, password, user } = await signUp(first, 'rehash@example.com');
    await first.server.close();
    const hashOf = async (app: TestApp) =>
      (await app.plinth.db.selectFrom('user_passwords').select('hash').where('user_id', '=', user.id).executeTakeFirstOrThrow()).hash as string;
    const second = await startApp(h, dialect, { db, auth: { passwordMemoryKib: 8192, passwordIterations: 2 } });
    expect(await hashOf(second)).toContain('m=8192,t=1,p=1');
    expect((await second.call('POST', '/v1/auth/sign-in', { body: { email, password } })).status).toBe(200);
    expect(await hashOf(second)).toContain('m=8192,t=2,p=1');
    expect((await second.call('POST', '/v1/auth/sign-in', { body: { email, password } })).status).toBe(200);
  });

  it('locks an account after repeated failures, audits it, answers 429 with Retry-After, and a success after the lock resets the count', async () => {
    const clock = createManualClock(Date.UTC(2026, 5, 1));
    const app = await startApp(h, dialect, { clock, auth: { lockoutAccountFailures: 3, lockoutBaseSeconds: 60 } });
    const { email, password } = await signUp(app);
    for (let i = 0; i < 3; i++) expect((await app.call('POST', '/v1/auth/sign-in', { body: { email, password: 'wrong wrong' } })).status).toBe(401);
    const locked = await app.call('POST', '/v1/auth/sign-in', { body: { email, password } });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('auth.account_locked');
    expect(locked.headers.get('retry-after')).toBe('60');
    const lockouts = await app.plinth.service<any>('audit').list({ action: 'auth.lockout' });
    expect(lockouts).toHaveLength(1);
    expect(lockouts[0].data).toMatchObject({ kind: 'account', seconds: 60 });

    clock.advance(61_000);
    expect((await app.call('POST', '/v1/auth/sign-in', { body: { email, password } })).status).toBe(200);
    // The success cleared the count: two more failures do not lock.
    for (let i = 0; i < 2; i++) await app.call('POST', '/v1/auth/sign-in', { body: { email, password: 'wrong wrong' } });
    expect((await app.call('POST', '/v1/auth/sign-in', { body: { email, password } })).status).toBe(200);
  });

  it('locks unknown emails the same way (no enumeration through lockouts), and doubles the next lock', async () => {
    const clock = createManualClock(Date.UTC(2026, 5, 1));
    const app = await startApp(h, dialect, { clock, auth: { lockoutAccountFailures: 2, lockoutBaseSeconds: 30 } });
    const body = { email: 'ghost@example.com', password: 'whatever it is' };
    await app.call('POST', '/v1/auth/sign-in', { body });
    await app.call('POST', '/v1/auth/sign-in', { body });
    const first = await app.call('POST', '/v1/auth/sign-in', { body });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('30');
    clock.advance(31_000);
    await app.call('POST', '/v1/auth/sign-in', { body });
    await app.call('POST', '/v1/auth/sign-in', { body });
    expect((await app.call('POST', '/v1/auth/sign-in', { body })).headers.get('retry-after')).toBe('60');
  });

  it('locks an IP that tries many accounts', async () => {
    const app = await startApp(h, dialect, { auth: { lockoutIpFailures: 4, lockoutAccountFailures: 100 } });
    for (let i = 0; i < 4; i++) await app.call('POST', '/v1/auth/sign-in', { body: { email: `u${i}@example.com`, password: 'whatever it is' } });
    const { email, password } = { email: 'fresh@example.com', password: 'x' };
    const res = await app.call('POST', '/v1/auth/sign-in', { body: { email, password } });
    expect(res.status).toBe(429);
  });

  it('refuses disabled accounts at sign-in and at refresh', async () => {
    const app = await startApp(h, dialect);
    const { email, password, refreshToken, user } = await signUp(app);
    await app.plinth.db.updateTable('users').set({ status: 'disabled' }).where('id', '=', user.id).execute();
    const signIn = await app.call('POST', '/v1/auth/sign-in', { body: { email, password } });
    expect([signIn.status, signIn.body.code]).toEqual([403, 'auth.account_disabled']);
    const refresh = await app.call('POST', '/v1/auth/refresh', { body: { refreshToken } });
    expect([refresh.status, refresh.body.code]).toEqual([403, 'auth.account_disabled']);
  });

  it('never writes a password, token or hash to the log', async () => {
    const app = await startApp(h, dialect, { logLevel: 'trace' });
    const { email, password, accessToken, refreshToken, user } = await signUp(app, 'logs@example.com', 'secret horse 77');
    await app.call('POST', '/v1/auth/sign-in', { body: { email, password: 'wrong secret 88' } });
    const signIn = await app.call('POST', '/v1/auth/sign-in', { body: { email, password } });
    const refreshed = await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: signIn.body.refreshToken } });
    await app.call('GET', '/v1/me', { token: 'garbage.token.here' });
    await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: signIn.body.refreshToken } });
    const hash = (await app.plinth.db.selectFrom('user_passwords').select('hash').where('user_id', '=', user.id).executeTakeFirstOrThrow()).hash;
    expect(app.logs.length).toBeGreaterThan(5);
    expectNoSecrets(app, [password, 'wrong secret 88', accessToken, refreshToken, signIn.body.accessToken, refreshed.body.refreshToken, hash, hash.split('$').pop()!]);
    const audit = JSON.stringify(await app.plinth.service<any>('audit').list());
    for (const secret of [password, 'wrong secret 88', refreshToken, hash]) expect(audit.includes(secret)).toBe(false);
  });
});
