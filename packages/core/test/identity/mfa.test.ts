/**
 * TOTP MFA over HTTP on both dialects: enrollment, the two-step sign-in,
 * replay and skew rules, recovery codes, attempt limits and lockout, turning
 * MFA off, and what is stored and logged. The manual clock picks time steps.
 */
import { describe, expect, it } from 'vitest';
import { totpCode, totpQrCode, totpStep } from '../../src/modules/identity/totp.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { type MfaApp, mfaApp, PASSWORD } from './support/mfa-app.js';

const h = useHarness();
const RECOVERY_CODE = /^[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{4}$/;

/** A 6-digit code that is none of the codes within ±2 steps of now. */
function wrongCode(app: MfaApp, secret: string): string {
  const near = new Set([-2, -1, 0, 1, 2].map((offset) => app.code(secret, offset)));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!near.has(candidate)) return candidate;
  }
}

async function verify(app: MfaApp, mfaToken: string, code: string) {
  return app.call('POST', '/v1/auth/mfa/verify', { body: { mfaToken, code } });
}

async function count(app: MfaApp, table: string, userId: string): Promise<number> {
  const row = await app.plinth.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe.each(dialects)('TOTP MFA (%s)', (dialect) => {
  it('enrolls, confirms with a code, then signs in in two steps', async () => {
    const app = await mfaApp(h, dialect);
    const { token, userId } = await app.signUp('alice@example.com');

    const enrolled = await app.call('POST', '/v1/me/mfa/totp', { token });
    expect(enrolled.status).toBe(201);
    expect(enrolled.headers.get('cache-control')).toBe('no-store');
    const { secret, otpauthUri } = enrolled.body;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits, base32
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Plinth:alice@example.com');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ issuer: 'Plinth', secret, algorithm: 'SHA1', digits: '6', period: '30' });

    // Not on until confirmed: password sign-in still answers tokens.
    let me = await app.call('GET', '/v1/me', { token });
    expect(me.body).toMatchObject({ mfaEnabled: false, version: 1 });
    const before = await app.call('POST', '/v1/auth/sign-in', { body: { email: 'alice@example.com', password: PASSWORD } });
    expect(before.body.accessToken).toEqual(expect.any(String));

    const confirmed = await app.call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: app.code(secret) } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('cache-control')).toBe('no-store');
    const codes: string[] = confirmed.body.recoveryCodes;
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(c).toMatch(RECOVERY_CODE);
    expect(new Set(codes).size).toBe(10);
    me = await app.call('GET', '/v1/me', { token });
    expect(me.body).toMatchObject({ mfaEnabled: true, version: 2 });

    app.nextStep();
    const signIn = await app.call('POST', '/v1/auth/sign-in', { body: { email: 'alice@example.com', password: PASSWORD } });
    expect(signIn.status).toBe(200);
    expect(signIn.body).toEqual({ mfaRequired: true, mfaToken: expect.stringMatching(/^plm_/), expiresIn: 300 });
    expect(signIn.body.accessToken).toBeUndefined();

    const done = await verify(app, signIn.body.mfaToken, app.code(secret));
    expect(done.status).toBe(200);
    expect(done.headers.get('cache-control')).toBe('no-store');
    expect(done.body).toMatchObject({ tokenType: 'Bearer', user: { id: userId, mfaEnabled: true } });
    const sessions = await app.call('GET', '/v1/me/sessions', { token: done.body.accessToken });
    expect(sessions.body.data.find((s: { current: boolean }) => s.current)).toMatchObject({ authMethod: 'mfa' });

    expect(await app.audit('auth.mfa.enabled')).toEqual([expect.objectContaining({ actorId: userId, targetId: userId })]);
    const succeeded = await app.audit('auth.sign_in.succeeded');
    expect(succeeded.map((e) => e.data)).toContainEqual({ method: 'mfa', factor: 'totp' });
  });

  it('replaces an unconfirmed enrollment, and refuses to enroll or confirm twice', async () => {
    const app = await mfaApp(h, dialect);
    const { token } = await app.signUp('bob@example.com');

    const early = await app.call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: '123456' } });
    expect([early.status, early.body.code]).toEqual([409, 'auth.mfa_not_enrolled']);
    const off = await app.call('DELETE', '/v1/me/mfa/totp', { token, body: { code: '123456' } });
    expect([off.status, off.body.code]).toEqual([409, 'auth.mfa_not_enabled']);
    const anonymous = await app.call('POST', '/v1/me/mfa/totp');
    expect(anonymous.status).toBe(401);

    const first = (await app.call('POST', '/v1/me/mfa/totp', { token })).body.secret;
    const second = (await app.call('POST', '/v1/me/mfa/totp', { token })).body.secret;
    expect(second).not.toBe(first);
    const stale = await app.call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: app.code(first) } });
    expect([stale.status, stale.body.code]).toEqual([401, 'auth.invalid_mfa_code']);
    const ok = await app.call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: app.code(second) } });
    expect(ok.status).toBe(200);

    const again = await app.call('POST', '/v1/me/mfa/totp', { token });
    expect([again.status, again.body.code]).toEqual([409, 'auth.mfa_already_enabled']);
    app.nextStep();
    const reconfirm = await app.call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: app.code(second) } });
    expect([reconfirm.status, reconfirm.body.code]).toEqual([409, 'auth.mfa_already_enabled']);
  });

  it('accepts a code once: the confirming code, a used code and an earlier step are rejected; the next step works', async () => {
    const app = await mfaApp(h, dialect);
    const { token } = await app.signUp('carol@example.com');
    const { secret } = await app.enableMfa(token); // uses this step's code

    let challenge = await app.challenge('carol@example.com');
    const replayed = await verify(app, challenge, app.code(secret));
    expect([replayed.status, replayed.body.code]).toEqual([401, 'auth.invalid_mfa_code']);
    expect((await verify(app, challenge, app.code(secret, -1))).status).toBe(401);

    app.nextStep();
    const code = app.code(secret);
    expect((await verify(app, challenge, code)).status).toBe(200);

    // The same code, still inside its step, on a new sign-in.
    challenge = await app.challenge('carol@example.com');
    app.clock.advance(10_000);
    const again = await verify(app, challenge, code);
    expect([again.status, again.body.code]).toEqual([401, 'auth.invalid_mfa_code']);

    app.nextStep();
    expect((await verify(app, challenge, app.code(secret))).status).toBe(200);
  });

  it('accepts one code when two sign-ins race with it', async () => {
    const app = await mfaApp(h, dialect);
    const { token } = await app.signUp('dave@example.com');
    const { secret } = await app.enableMfa(token);
    const [a, b] = [await app.challenge('dave@example.com'), await app.challenge('dave@example.com')];
    app.nextStep();
    const code = app.code(secret);
    const replies = await Promise.all([verify(app, a, code), verify(app, b, code)]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(replies.find((r) => r.status === 401)!.body.code).toBe('auth.invalid_mfa_code');
  });

  it('allows one step of clock skew either way, not two', async () => {
    const app = await mfaApp(h, dialect);
    const { token } = await app.signUp('erin@example.com');
    const { secret } = await app.enableMfa(token);
    app.nextStep(3);
    let challenge = await app.challenge('erin@example.com');
    expect((await verify(app, challenge, app.code(secret, 2))).status).toBe(401);
    expect((await verify(app, challenge, app.code(secret, -2))).status).toBe(401);
    expect((await verify(app, challenge, app.code(secret, -1))).status).toBe(200);

    challenge = await app.challenge('erin@example.com');
    expect((await verify(app, challenge, app.code(secret, 1))).status).toBe(200);
    // A later step was accepted: the current one is now in the past.
    challenge = await app.challenge('erin@example.com');
    expect((await verify(app, challenge, app.code(secret))).status).toBe(401);
  });

  it('accepts each recovery code once, however it is typed, and stores only hashes', async () => {
    const app = await mfaApp(h, dialect);
    const { token, userId } = await app.signUp('frank@example.com');
    const { recoveryCodes } = await app.enableMfa(token);

    let challenge = await app.challenge('frank@example.com');
    expect((await verify(app, challenge, recoveryCodes[0]!)).status).toBe(200);
    const used = (await app.audit('auth.sign_in.succeeded')).find((e) => e.data.factor === 'recovery_code');
    expect(used?.data).toEqual({ method: 'mfa', factor: 'recovery_code', recoveryCodesLeft: 9 });

    challenge = await app.challenge('frank@example.com');
    const reused = await verify(app, challenge, recoveryCodes[0]!);
    expect([reused.status, reused.body.code]).toEqual([401, 'auth.invalid_mfa_code']);
    const typed = ` ${recoveryCodes[1]!.replaceAll('-', '').toUpperCase()} `;
    expect((await verify(app, challenge, typed)).status).toBe(200);

    const rows = await app.plinth.db.selectFrom('recovery_codes').selectAll().where('user_id', '=', userId).execute();
    expect(rows).toHaveLength(10);
    expect(rows.filter((r) => r.used_at !== null)).toHaveLength(2);
    const stored = JSON.stringify(rows);
    for (const c of recoveryCodes) {
      expect(stored).not.toContain(c);
      expect(stored).not.toContain(c.replaceAll('-', ''));
    }
  });

  it('ends a challenge after 5 wrong codes and locks MFA sign-in for the account until the lockout passes', async () => {
    const app = await mfaApp(h, dialect);
    const { token, userId } = await app.signUp('grace@example.com');
    const { secret } = await app.enableMfa(token);
    app.nextStep();

    const challenge = await app.challenge('grace@example.com');
    for (let i = 0; i < 5; i++) {
      const r = await verify(app, challenge, wrongCode(app, secret));
      expect([r.status, r.body.code]).toEqual([401, 'auth.invalid_mfa_code']);
    }
    const dead = await verify(app, challenge, app.code(secret));
    expect([dead.status, dead.body.code]).toEqual([401, 'auth.mfa_challenge_invalid']);

    // The failures also counted toward the account's lockout (`mfa:<userId>`): a fresh
    // challenge does not buy fresh guesses, a correct password notwithstanding.
    const fresh = await app.challenge('grace@example.com');
    const lockedOut = await verify(app, fresh, app.code(secret));
    expect([lockedOut.status, lockedOut.body.code]).toEqual([429, 'auth.account_locked']);
    expect(Number(lockedOut.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await app.audit('auth.lockout')).toEqual([expect.objectContaining({ targetId: userId, data: expect.objectContaining({ kind: 'mfa', seconds: 60 }) })]);
    expect((await app.audit('auth.mfa.failed')).length).toBe(6);

    app.clock.advance(61_000);
    const after = await verify(app, fresh, app.code(secret));
    expect(after.status).toBe(200);
  });

  it('refuses expired and unknown challenges', async () => {
    const app = await mfaApp(h, dialect);
    const { token } = await app.signUp('heidi@example.com');
    const { secret } = await app.enableMfa(token);
    const challenge = await app.challenge('heidi@example.com');
    app.clock.advance(5 * 60_000);
    const expired = await verify(app, challenge, app.code(secret));
    expect([expired.status, expired.body.code]).toEqual([401, 'auth.mfa_challenge_invalid']);
    const unknown = await verify(app, `plm_${'A'.repeat(43)}`, app.code(secret));
    expect([unknown.status, unknown.body.code]).toEqual([401, 'auth.mfa_challenge_invalid']);
  });

  it('turns MFA off only with a current code (or a recovery code)', async () => {
    const app = await mfaApp(h, dialect);
    const { token, userId } = await app.signUp('ivan@example.com');
    const { secret } = await app.enableMfa(token);

    const replayed = await app.call('DELETE', '/v1/me/mfa/totp', { token, body: { code: app.code(secret) } }); // the confirming code
    expect([replayed.status, replayed.body.code]).toEqual([401, 'auth.invalid_mfa_code']);
    const wrong = await app.call('DELETE', '/v1/me/mfa/totp', { token, body: { code: wrongCode(app, secret) } });
    expect([wrong.status, wrong.body.code]).toEqual([401, 'auth.invalid_mfa_code']);
    expect((await app.call('GET', '/v1/me', { token })).body.mfaEnabled).toBe(true);

    app.nextStep();
    const off = await app.call('DELETE', '/v1/me/mfa/totp', { token, body: { code: app.code(secret) } });
    expect(off.status).toBe(204);
    expect((await app.call('GET', '/v1/me', { token })).body).toMatchObject({ mfaEnabled: false, version: 3 });
    expect(await count(app, 'totp_credentials', userId)).toBe(0);
    expect(await count(app, 'recovery_codes', userId)).toBe(0);
    const signIn = await app.call('POST', '/v1/auth/sign-in', { body: { email: 'ivan@example.com', password: PASSWORD } });
    expect(signIn.body.accessToken).toEqual(expect.any(String));
    expect((await app.audit('auth.mfa.disabled')).map((e) => e.data)).toEqual([{ factor: 'totp' }]);
    expect((await app.audit('auth.mfa.failed')).map((e) => e.data.stage)).toEqual(['disable', 'disable']);

    // Someone who lost the phone: a recovery code turns it off, and a new device can be enrolled.
    const { recoveryCodes } = await app.enableMfa(token);
    const viaRecovery = await app.call('DELETE', '/v1/me/mfa/totp', { token, body: { code: recoveryCodes[3]! } });
    expect(viaRecovery.status).toBe(204);
    expect((await app.call('POST', '/v1/me/mfa/totp', { token })).status).toBe(201);
  });

  it('keeps MFA settings away from API keys', async () => {
    const app = await mfaApp(h, dialect);
    const { userId } = await app.signUp('judy@example.com');
    const keyCaller = { actor: { kind: 'api_key' as const, keyId: 'k1', userId, roles: [], scopes: [] } };
    await expect(app.identity.mfa.enroll(keyCaller)).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    await expect(app.identity.mfa.disable('123456', keyCaller)).rejects.toMatchObject({ code: 'auth.forbidden' });
  });

  it('stores the TOTP secret encrypted and never logs it or the recovery codes', async () => {
    const app = await mfaApp(h, dialect);
    const { token, userId } = await app.signUp('mallory@example.com');
    const enrolled = await app.call('POST', '/v1/me/mfa/totp', { token });
    const { secret, otpauthUri } = enrolled.body;
    const confirmed = await app.call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: app.code(secret) } });
    const codes: string[] = confirmed.body.recoveryCodes;
    app.nextStep();
    const challenge = await app.challenge('mallory@example.com');
    await verify(app, challenge, wrongCode(app, secret));
    await verify(app, challenge, app.code(secret));

    const row = await app.plinth.db.selectFrom('totp_credentials').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(row.secret).toMatch(/^v1\.test\./);
    expect(row.secret).not.toContain(secret);
    expect(app.plinth.secrets.decrypt(row.secret, `totp:${userId}`)).toBe(secret);
    expect(() => app.plinth.secrets.decrypt(row.secret, 'totp:someone-else')).toThrow();
    expect(await app.identity.mfa.status(userId)).toEqual({ enabled: true, pending: false, recoveryCodesLeft: 10 });

    const log = app.logLines.join('\n');
    expect(app.logLines.length).toBeGreaterThan(5);
    for (const needle of [secret, secret.toLowerCase(), otpauthUri, encodeURIComponent(otpauthUri), ...codes, ...codes.map((c) => c.replaceAll('-', ''))]) {
      expect(log).not.toContain(needle);
    }
  });
});

describe('TOTP helpers', () => {
  it('renders an otpauth URI as a terminal QR code', async () => {
    const qr = await totpQrCode('otpauth://totp/Plinth:alice%40example.com?issuer=Plinth&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    const lines = qr.split('\n').filter((l) => l.trim());
    expect(lines.length).toBeGreaterThan(10);
    expect(qr).toMatch(/[▄▀█]/);
  });

  it('computes RFC 6238 codes (test vector, SHA-1, truncated to 6 digits)', () => {
    // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s → 94287082 (8 digits).
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    expect(totpCode(secret, totpStep(59_000))).toBe('287082');
    expect(totpCode(secret, totpStep(1_111_111_109_000))).toBe('081804');
  });
});
