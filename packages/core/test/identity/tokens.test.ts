import { createHmac } from 'node:crypto';
import { importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { startApp, signUp, type TestApp } from '../support/app.js';
import { useHarness } from '../support/harness.js';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const parts = (token: string) => {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return { header: JSON.parse(Buffer.from(header, 'base64url').toString()), payload: JSON.parse(Buffer.from(payload, 'base64url').toString()), signature, raw: { header, payload } };
};
const me = (app: TestApp, token: string) => app.call('GET', '/v1/me', { token });
const expectRejected = async (app: TestApp, token: string) => {
  const res = await me(app, token);
  expect(res.status, token).toBe(401);
  expect(res.body.code).toBe('auth.invalid_token');
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
};

describe.each(dialects)('access tokens on %s', (dialect) => {
  const h = useHarness();

  it('carries kid, typ at+jwt, iss, aud, sub, sid and a 15-minute expiry', async () => {
    const app = await startApp(h, dialect);
    const { accessToken, user } = await signUp(app);
    const { header, payload } = parts(accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toMatchObject({ iss: 'plinth', aud: 'plinth-api', sub: user.id, sid: expect.any(String) });
    expect(payload.exp - payload.iat).toBe(900);
    expect((await me(app, accessToken)).status).toBe(200);
  });

  it('signs compact JWS that an independent verifier (jose, with the public JWK) accepts, roles included', async () => {
    const app = await startApp(h, dialect);
    const { accessToken, user, email, password } = await signUp(app);
    const signIn = await app.call('POST', '/v1/auth/sign-in', { body: { email, password } });
    expect(signIn.status).toBe(200);
    const { kid, public_jwk: jwk } = await app.plinth.db.selectFrom('signing_keys').select(['kid', 'public_jwk']).executeTakeFirstOrThrow();
    const key = await importJWK(JSON.parse(jwk), 'EdDSA');
    for (const token of [accessToken, signIn.body.accessToken]) {
      const { payload, protectedHeader } = await jwtVerify(token, key, { algorithms: ['EdDSA'], issuer: 'plinth', audience: 'plinth-api', typ: 'at+jwt' });
      expect(protectedHeader).toEqual({ alg: 'EdDSA', kid, typ: 'at+jwt' });
      expect(payload).toMatchObject({ sub: user.id, roles: ['customer'], sid: expect.any(String) });
    }
    // One changed byte of the payload and it no longer verifies, here or with jose.
    const { raw, signature } = parts(signIn.body.accessToken);
    const tampered = `${raw.header}.${b64({ ...parts(signIn.body.accessToken).payload, roles: ['admin'] })}.${signature}`;
    await expect(jwtVerify(tampered, key, { algorithms: ['EdDSA'] })).rejects.toThrow();
    await expectRejected(app, tampered);
  });

  it('rejects tampered, re-signed, alg:none, HS256-confusion, wrong-kid and garbage tokens', async () => {
    const app = await startApp(h, dialect);
    const victim = await signUp(app);
    const other = await signUp(app);
    const { header, payload, signature, raw } = parts(victim.accessToken);
    // Payload changed, signature kept.
    await expectRejected(app, `${raw.header}.${b64({ ...payload, sub: other.user.id })}.${signature}`);
    // Signature of another token on this payload.
    await expectRejected(app, `${raw.header}.${raw.payload}.${parts(other.accessToken).signature}`);
    // alg: none, with and without a signature.
    const none = b64({ ...header, alg: 'none' });
    await expectRejected(app, `${none}.${raw.payload}.`);
    await expectRejected(app, `${none}.${raw.payload}.${signature}`);
    // HS256 "signed" with the public key material as the HMAC secret (algorithm confusion).
    const keys = await app.plinth.db.selectFrom('signing_keys').select('public_jwk').execute();
    const hsHeader = b64({ ...header, alg: 'HS256' });
    const hs = createHmac('sha256', keys[0]!.public_jwk).update(`${hsHeader}.${raw.payload}`).digest('base64url');
    await expectRejected(app, `${hsHeader}.${raw.payload}.${hs}`);
    // A kid that does not exist, and one that is absurdly long.
    await expectRejected(app, `${b64({ ...header, kid: 'no-such-key' })}.${raw.payload}.${signature}`);
    await expectRejected(app, `${b64({ ...header, kid: 'x'.repeat(5000) })}.${raw.payload}.${signature}`);
    await expectRejected(app, 'not-a-jwt');
    await expectRejected(app, `${raw.header}.${raw.payload}`);
    const lowercase = await app.call('GET', '/v1/me', { headers: { authorization: `Basic ${victim.accessToken}` } });
    expect(lowercase.status).toBe(401);
    expect((await me(app, victim.accessToken)).status).toBe(200);
  });

  it('rejects an expired token', async () => {
    const clock = createManualClock(Date.now());
    const app = await startApp(h, dialect, { clock });
    const { accessToken } = await signUp(app);
    clock.advance(899_000);
    expect((await me(app, accessToken)).status).toBe(200);
    clock.advance(10_000);
    await expectRejected(app, accessToken);
  });

  it('authenticates a header it saw before to the same actor, until the token expires', async () => {
    const clock = createManualClock(Date.now());
    const app = await startApp(h, dialect, { clock });
    const { accessToken, user } = await signUp(app);
    const first = await app.plinth.authenticate({ authorization: `Bearer ${accessToken}` });
    expect(first).toMatchObject({ kind: 'user', userId: user.id });
    expect(await app.plinth.authenticate({ authorization: `Bearer ${accessToken}` })).toBe(first);
    // Other spellings of the same header still parse (case of the scheme, surrounding spaces).
    expect(await app.plinth.authenticate({ authorization: `  bearer   ${accessToken} ` })).toBe(first);
    clock.advance(904_000); // exp + 4 s: inside the 5 s tolerance
    expect(await app.plinth.authenticate({ authorization: `Bearer ${accessToken}` })).toBe(first);
    clock.advance(2_000);
    await expect(app.plinth.authenticate({ authorization: `Bearer ${accessToken}` })).rejects.toMatchObject({ code: 'auth.invalid_token' });
    await expect(app.plinth.authenticate({ authorization: `  bearer   ${accessToken} ` })).rejects.toMatchObject({ code: 'auth.invalid_token' });
  });

  it('lets an API key sent with a Bearer header it saw before decide, as without the cache', async () => {
    const app = await startApp(h, dialect);
    const { accessToken } = await signUp(app);
    expect((await me(app, accessToken)).status).toBe(200);
    const res = await app.call('GET', '/v1/me', { token: accessToken, headers: { 'x-api-key': 'plk_not-a-key' } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('auth.api_key_invalid');
  });

  it('keeps verifying tokens of a rotated key until they expire, and signs new ones with the new kid', async () => {
    const clock = createManualClock(Date.now());
    const app = await startApp(h, dialect, { clock });
    const before = await signUp(app);
    const oldKid = parts(before.accessToken).header.kid;
    const rotated = await app.plinth.service<any>('identity').rotateSigningKey({ actor: { kind: 'system', name: 'test' } });
    expect(rotated.kid).not.toBe(oldKid);
    expect((await me(app, before.accessToken)).status).toBe(200);
    const after = await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: before.refreshToken } });
    expect(parts(after.body.accessToken).header.kid).toBe(rotated.kid);
    const keys = await app.plinth.service<any>('identity').tokens.list();
    expect(keys.find((k: any) => k.kid === oldKid)).toMatchObject({ retiredAt: expect.any(String), verifiesUntil: expect.any(String) });
    expect((await app.plinth.service<any>('audit').list({ action: 'auth.signing_key.rotated' })).length).toBe(1);
    clock.advance(906_000); // past the 15 minutes and the 5 s clock tolerance
    await expectRejected(app, before.accessToken);
    expect((await me(app, after.body.accessToken)).status).toBe(401); // also expired: same lifetime
  });

  it('learns a key rotated by another process (the CLI) on first sight of its kid', async () => {
    // One manual clock for both processes: the unknown-kid reload is rate-limited to one per 5 s.
    const clock = createManualClock(Date.now());
    const db = await h.database(dialect);
    const server = await startApp(h, dialect, { db, clock });
    const cli = await startApp(h, dialect, { db, clock });
    await cli.plinth.service<any>('identity').rotateSigningKey({ actor: { kind: 'system', name: 'cli' } });
    const user = await signUp(cli);
    // Within the 5 s since the server loaded its keys, the new kid is not looked up yet.
    expect((await me(server, user.accessToken)).status).toBe(401);
    clock.advance(5100);
    expect((await me(server, user.accessToken)).status).toBe(200);
  });
});

describe.each(dialects)('refresh tokens and sessions on %s', (dialect) => {
  const h = useHarness();
  const refresh = (app: TestApp, refreshToken: string) => app.call('POST', '/v1/auth/refresh', { body: { refreshToken } });

  it('rotates on every use: the new token works, the user gets fresh tokens', async () => {
    const app = await startApp(h, dialect);
    const first = await signUp(app);
    const second = await refresh(app, first.refreshToken);
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect(parts(second.body.accessToken).payload.sid).toBe(parts(first.accessToken).payload.sid);
    expect((await refresh(app, second.body.refreshToken)).status).toBe(200);
  });

  it('revokes the whole family when a rotated token comes back after the grace window, and audits it', async () => {
    const clock = createManualClock(Date.now());
    const app = await startApp(h, dialect, { clock });
    const first = await signUp(app);
    const second = await refresh(app, first.refreshToken);
    clock.advance(11_000);
    const stolen = await refresh(app, first.refreshToken);
    expect([stolen.status, stolen.body.code]).toEqual([401, 'auth.refresh_token_reused']);
    const legit = await refresh(app, second.body.refreshToken);
    expect([legit.status, legit.body.code]).toEqual([401, 'auth.session_revoked']);
    const events = await app.plinth.service<any>('audit').list({ action: 'auth.refresh_token.reused' });
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ familyRevoked: true });
    // Other sessions of the same user are untouched.
    const other = await app.call('POST', '/v1/auth/sign-in', { body: { email: first.email, password: first.password } });
    expect((await refresh(app, other.body.refreshToken)).status).toBe(200);
  });

  it('lets two tabs refresh with the same token at once, but nothing older than the immediately previous token', async () => {
    const clock = createManualClock(Date.now());
    const app = await startApp(h, dialect, { clock });
    const first = await signUp(app);
    const [a, b] = await Promise.all([refresh(app, first.refreshToken), refresh(app, first.refreshToken)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const third = await refresh(app, a.body.refreshToken);
    expect(third.status).toBe(200);
    clock.advance(1000);
    // first was rotated two generations ago: even inside the grace window it is a reuse.
    const replay = await refresh(app, first.refreshToken);
    expect(replay.body.code).toBe('auth.refresh_token_reused');
  });

  it('rejects malformed, unknown and expired refresh tokens without revoking anything', async () => {
    const clock = createManualClock(Date.now());
    const app = await startApp(h, dialect, { clock, auth: { refreshTokenTtlSeconds: 3600 } });
    const { refreshToken } = await signUp(app);
    for (const token of ['', 'plr_short', `plr_${'A'.repeat(43)}`, 'x'.repeat(201)]) {
      const res = await refresh(app, token);
      expect(res.status, token).toBe(token === '' || token.length > 200 ? 422 : 401);
    }
    clock.advance(3601_000);
    expect((await refresh(app, refreshToken)).body.code).toBe('auth.refresh_token_invalid');
  });

  it('lists my sessions with the current one marked, revokes one or all others, and signs out', async () => {
    const app = await startApp(h, dialect);
    const a = await signUp(app);
    const b = await app.call('POST', '/v1/auth/sign-in', { body: { email: a.email, password: a.password }, headers: { 'user-agent': 'phone/1.0' } });
    const c = await app.call('POST', '/v1/auth/sign-in', { body: { email: a.email, password: a.password } });
    const list = await app.call('GET', '/v1/me/sessions', { token: a.accessToken });
    expect(list.body.data).toHaveLength(3);
    expect(list.body.data.filter((s: any) => s.current)).toHaveLength(1);
    expect(list.body.data.find((s: any) => s.userAgent === 'phone/1.0')).toMatchObject({ authMethod: 'password', ip: expect.any(String) });

    const bSid = parts(b.body.accessToken).payload.sid;
    expect((await app.call('DELETE', `/v1/me/sessions/${bSid}`, { token: a.accessToken })).status).toBe(204);
    expect((await refresh(app, b.body.refreshToken)).body.code).toBe('auth.session_revoked');
    expect((await app.call('DELETE', `/v1/me/sessions/${bSid}`, { token: a.accessToken })).status).toBe(404);

    const stranger = await signUp(app);
    const strangerSid = parts(stranger.accessToken).payload.sid;
    expect((await app.call('DELETE', `/v1/me/sessions/${strangerSid}`, { token: a.accessToken })).status).toBe(404);
    expect((await refresh(app, stranger.refreshToken)).status).toBe(200);

    const others = await app.call('POST', '/v1/me/sessions/revoke-others', { token: a.accessToken });
    expect(others.body).toEqual({ revoked: 1 });
    expect((await refresh(app, c.body.refreshToken)).status).toBe(401);
    expect((await refresh(app, a.refreshToken)).status).toBe(200);

    expect((await app.call('POST', '/v1/auth/sign-out', { token: a.accessToken })).status).toBe(204);
    const afterOut = await app.call('GET', '/v1/me/sessions', { token: a.accessToken });
    expect(afterOut.body.data).toEqual([]);
    expect((await app.call('GET', '/v1/me/sessions')).status).toBe(401);
  });
});
