/**
 * OIDC sign-in against a real OpenID provider (oidc-provider) running in this
 * process: the test plays the browser between Plinth's HTTP server and the
 * provider, the way a user's browser would.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type PlinthServer } from '@plinth/server';
import { describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import type { RouteImplementation } from '../../src/module.js';
import type { AuditService } from '../../src/modules/audit/index.js';
import { builtinModules } from '../../src/modules/builtins.js';
import { createOidcService } from '../../src/modules/identity/oidc.js';
import { createOidcRoutes } from '../../src/modules/identity/routes/oidc.js';
import type { IdentityCore } from '../../src/modules/identity/types.js';
import type { Plinth } from '../../src/plinth.js';
import { generateEncryptionKey } from '../../src/secrets/secret-box.js';
import type { TestDialect } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { createTestOidcProvider, type TestAccount, type TestOidcProvider } from './support/oidc-provider.js';

const h = useHarness();
const APP = 'https://app.example';
const CLIENT_SECRET = 'client-secret-of-plinth-0123456789';

interface Setup {
  plinth: Plinth;
  provider: TestOidcProvider;
  /** Plinth's base URL. */
  base: string;
  logLines: string[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** start → provider → the callback URL the provider sent the browser to. */
  authorize(account: TestAccount, options?: { provider?: string; redirectTo?: string }): Promise<URL>;
  /** The whole flow: the callback's response. */
  signIn(account: TestAccount, options?: { provider?: string; redirectTo?: string }): Promise<Response>;
  audit(action: string): Promise<Awaited<ReturnType<AuditService['list']>>>;
  count(table: string): Promise<number>;
}

async function setup(dialect: TestDialect = 'sqlite', options: { clock?: ManualClock; claimsInIdToken?: boolean } = {}): Promise<Setup> {
  const provider = await createTestOidcProvider({ claimsInIdToken: options.claimsInIdToken ?? false });
  h.defer(() => provider.close());
  const db = await h.database(dialect);

  // Plinth's port must be known before its config (the redirect URI), so the socket listens first.
  const raw = http.createServer();
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  h.defer(() => new Promise<void>((resolve) => {
    raw.closeAllConnections();
    raw.close(() => resolve());
  }));
  const base = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
  const callback = (name: string) => `${base}/v1/auth/oidc/${name}/callback`;
  provider.addClient({ clientId: 'plinth', clientSecret: CLIENT_SECRET, redirectUris: [callback('test')] });
  provider.addClient({ clientId: 'plinth-public', redirectUris: [callback('public')] });
  await provider.start();

  const logLines: string[] = [];
  const plinth = h.plinth(db.url, {
    builtins: builtinModules,
    appUrl: APP,
    logger: createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } }),
    encryptionKeys: [generateEncryptionKey('test')],
    ...(options.clock ? { clock: options.clock } : {}),
    auth: {
      passwordMemoryKib: 8192,
      passwordIterations: 1,
      oidc: {
        test: { issuer: provider.issuer, clientId: 'plinth', clientSecret: CLIENT_SECRET, redirectUri: callback('test') },
        public: { issuer: provider.issuer, clientId: 'plinth-public', redirectUri: callback('public') },
        // The document is fetched from the same place, but names the issuer without the slash: another issuer.
        impostor: { issuer: `${provider.issuer}/`, clientId: 'plinth', redirectUri: callback('impostor') },
        down: { issuer: 'http://127.0.0.1:9', clientId: 'plinth', redirectUri: callback('down') },
      },
    },
  });
  await plinth.start();
  // Until the identity module mounts the OIDC routes itself, the test mounts them.
  const mounted = plinth.routes.some((r) => r.route.operationId === 'oidcStart');
  const routes: RouteImplementation<any>[] = [];
  if (!mounted) {
    const service = createOidcService(plinth, plinth.service<IdentityCore>('identity'));
    routes.push(...createOidcRoutes(() => service));
  }
  const server: PlinthServer = createServer(plinth, { routes, closePlinth: false });
  raw.on('request', server.handle);

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { redirect: 'manual', headers });
  async function authorize(account: TestAccount, opts: { provider?: string; redirectTo?: string } = {}) {
    const name = opts.provider ?? 'test';
    const query = opts.redirectTo === undefined ? '' : `?redirectTo=${encodeURIComponent(opts.redirectTo)}`;
    const start = await get(`/v1/auth/oidc/${name}/start${query}`);
    expect(start.status, await start.clone().text()).toBe(302);
    return provider.authorize(start.headers.get('location')!, account);
  }
  return {
    plinth,
    provider,
    base,
    logLines,
    get,
    authorize,
    signIn: async (account, opts) => {
      const url = await authorize(account, opts);
      return get(url.pathname + url.search);
    },
    audit: (action) => plinth.service<AuditService>('audit').list({ action }),
    count: async (table) => Number((await plinth.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
  };
}

/** A response body; tests read what they expect from it. */
const json = (response: Response): Promise<any> => response.json();

const alice: TestAccount = { sub: 'alice-sub', email: 'Alice@Example.COM', email_verified: true, name: 'Alice Liddell' };

async function problem(response: Response): Promise<{ status: number; code: string; reason?: string }> {
  expect(response.headers.get('content-type')).toMatch(/problem\+json/);
  const body = (await json(response)) as { status: number; code: string; reason?: string };
  return { status: response.status, code: body.code, ...(body.reason ? { reason: body.reason } : {}) };
}

describe('OIDC sign-in', () => {
  it('sends the browser to the provider with PKCE (S256), state and nonce, keeping only a hash of the state', async () => {
    const s = await setup();
    const start = await s.get('/v1/auth/oidc/test/start');
    expect(start.status).toBe(302);
    expect(await start.text()).toBe('');
    expect(start.headers.get('cache-control')).toBe('no-store');
    const url = new URL(start.headers.get('location')!);
    expect(url.origin).toBe(s.provider.issuer);
    const q = Object.fromEntries(url.searchParams);
    expect(q).toMatchObject({ response_type: 'code', client_id: 'plinth', redirect_uri: `${s.base}/v1/auth/oidc/test/callback`, code_challenge_method: 'S256' });
    expect(q.scope!.split(' ')).toEqual(['openid', 'email', 'profile']);
    expect(q.state).toMatch(/^[\w-]{43}$/);
    expect(q.nonce).toMatch(/^[\w-]{43}$/);
    expect(q.code_challenge).toMatch(/^[\w-]{43}$/);
    expect(url.search).not.toContain(CLIENT_SECRET);
    const rows = await s.plinth.db.selectFrom('oidc_states').selectAll().execute();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ provider: 'test', state_hash: createHash('sha256').update(q.state!).digest('hex'), nonce: q.nonce, redirect_to: null });
    expect(row.code_verifier).toMatch(/^v1\.test\./); // encrypted with the secret box
    const verifier = s.plinth.secrets.decrypt(row.code_verifier, `oidc_states.code_verifier:${row.state_hash}`);
    expect(verifier.length).toBeGreaterThanOrEqual(43);
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(q.code_challenge);
  });

  it('creates an account on first sign-in and answers tokens that work', async () => {
    const s = await setup();
    const response = await s.signIn(alice);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const tokens = await json(response);
    expect(tokens).toMatchObject({ tokenType: 'Bearer', user: { email: 'Alice@example.com', name: 'Alice Liddell', emailVerified: true, status: 'active' } });
    expect(tokens.refreshToken).toMatch(/^plr_/);
    const me = await s.get('/v1/me', { authorization: `Bearer ${tokens.accessToken}` });
    expect(me.status).toBe(200);
    expect((await json(me)).id).toBe(tokens.user.id);

    const session = await s.plinth.db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow();
    expect(session.auth_method).toBe('oidc:test');
    expect(await s.count('oidc_states')).toBe(0);
    const [linked] = await s.audit('auth.oidc.linked');
    expect(linked).toMatchObject({ targetId: tokens.user.id, data: { provider: 'test', subject: 'alice-sub', by: 'new_account' } });
    expect(await s.audit('auth.oidc.signed_in')).toHaveLength(1);
    expect(s.provider.hits.get('/me')).toBe(1); // the email came from UserInfo
  });

  it('takes the email from the ID token when the provider puts it there', async () => {
    const s = await setup('sqlite', { claimsInIdToken: true });
    const response = await s.signIn(alice);
    expect(response.status).toBe(200);
    expect((await json(response)).user).toMatchObject({ email: 'Alice@example.com', emailVerified: true, name: 'Alice Liddell' });
    expect(s.provider.hits.get('/me')).toBeUndefined();
  });

  it('signs the same subject in to the same account, even when the provider now reports another email', async () => {
    const s = await setup();
    const first = await json(await s.signIn(alice));
    const second = await s.signIn({ ...alice, email: 'alice.new@example.com' });
    expect(second.status).toBe(200);
    expect((await json(second)).user.id).toBe(first.user.id);
    expect(await s.count('users')).toBe(1);
    expect(await s.audit('auth.oidc.linked')).toHaveLength(1);
    expect(await s.audit('auth.oidc.signed_in')).toHaveLength(2);
  });

  it('links to an existing password account by verified email', async () => {
    const s = await setup();
    const signUp = await fetch(`${s.base}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'alice@example.com', password: 'a long enough passphrase' }),
    });
    expect(signUp.status).toBe(201);
    const existing = await json(signUp);
    const response = await s.signIn(alice); // Alice@Example.COM: the same mailbox
    expect(response.status).toBe(200);
    expect((await json(response)).user.id).toBe(existing.user.id);
    expect(await s.count('users')).toBe(1);
    const [linked] = await s.audit('auth.oidc.linked');
    expect(linked).toMatchObject({ targetId: existing.user.id, data: { by: 'email' } });
  });

  it('refuses an unverified email: it neither links to the account with that address nor creates one', async () => {
    const s = await setup();
    await fetch(`${s.base}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'victim@example.com', password: 'a long enough passphrase' }),
    });
    const attacker = await s.signIn({ sub: 'mallory', email: 'victim@example.com', email_verified: false });
    expect(await problem(attacker)).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'email_not_verified' });
    const unclaimed = await s.signIn({ sub: 'mallory-2', email: 'nobody@example.com' }); // email_verified absent
    expect(await problem(unclaimed)).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'email_not_verified' });
    expect(await s.count('users')).toBe(1);
    expect(await s.count('oidc_identities')).toBe(0);
    expect(await s.count('sessions')).toBe(1); // the sign-up's
    const failures = await s.audit('auth.oidc.failed');
    expect(failures.map((f) => f.data.reason)).toEqual(['email_not_verified', 'email_not_verified']);
  });

  it('refuses an account without an email address', async () => {
    const s = await setup();
    expect(await problem(await s.signIn({ sub: 'no-mail' }))).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'email_missing' });
  });

  it('rejects an unknown or tampered state, and a callback without one', async () => {
    const s = await setup();
    const callback = await s.authorize(alice);
    const code = callback.searchParams.get('code')!;
    const state = callback.searchParams.get('state')!;
    const tampered = `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`;
    for (const query of [`code=${code}&state=${tampered}`, `code=${code}&state=unknown`, `code=${code}`, `state=${state}`]) {
      expect(await problem(await s.get(`/v1/auth/oidc/test/callback?${query}`))).toMatchObject({ status: 400, code: 'auth.oidc_failed' });
    }
    expect(await s.count('users')).toBe(0);
  });

  it('accepts a state once: replaying the callback fails', async () => {
    const s = await setup();
    const callback = await s.authorize(alice);
    const path = callback.pathname + callback.search;
    expect((await s.get(path)).status).toBe(200);
    expect(await problem(await s.get(path))).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'state_invalid' });
    expect(await s.count('sessions')).toBe(1);
  });

  it('rejects a state started for another provider', async () => {
    const s = await setup();
    const callback = await s.authorize(alice);
    const response = await s.get(`/v1/auth/oidc/public/callback${callback.search}`);
    expect(await problem(response)).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'state_invalid' });
  });

  it('rejects an expired state', async () => {
    const clock = createManualClock(Date.now());
    const s = await setup('sqlite', { clock });
    const callback = await s.authorize(alice);
    clock.advance(10 * 60_000 + 1);
    expect(await problem(await s.get(callback.pathname + callback.search))).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'state_invalid' });
  });

  it('rejects an ID token whose nonce is not the one of this sign-in', async () => {
    const s = await setup();
    const callback = await s.authorize(alice);
    await s.plinth.db.updateTable('oidc_states').set({ nonce: 'not-the-nonce-sent-to-the-provider' }).execute();
    expect(await problem(await s.get(callback.pathname + callback.search))).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'id_token_invalid' });
    expect(await s.count('users')).toBe(0);
  });

  it('fails when the provider refuses the code or the PKCE verifier', async () => {
    const s = await setup();
    const wrongVerifier = await s.authorize(alice);
    const row = await s.plinth.db.selectFrom('oidc_states').selectAll().executeTakeFirstOrThrow();
    const other = s.plinth.secrets.encrypt('x'.repeat(43), `oidc_states.code_verifier:${row.state_hash}`);
    await s.plinth.db.updateTable('oidc_states').set({ code_verifier: other }).execute();
    expect(await problem(await s.get(wrongVerifier.pathname + wrongVerifier.search))).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'token_exchange_failed' });

    const wrongCode = await s.authorize(alice);
    wrongCode.searchParams.set('code', 'not-a-code-the-provider-issued');
    expect(await problem(await s.get(wrongCode.pathname + wrongCode.search))).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'token_exchange_failed' });
    expect(await s.count('users')).toBe(0);
  });

  const tamperings: Array<[string, (p: Record<string, unknown>) => Record<string, unknown>, { alg?: 'none' }?]> = [
    ['another audience', (p) => ({ ...p, aud: 'another-client' })],
    ['several audiences without azp', (p) => ({ ...p, aud: ['plinth', 'another-client'] })],
    ['another issuer', (p) => ({ ...p, iss: 'https://evil.example' })],
    ['an expired token', (p) => ({ ...p, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })],
    ['alg none', (p) => p, { alg: 'none' }],
  ];
  for (const [what, edit, options] of tamperings) {
    it(`rejects an ID token with ${what}`, async () => {
      const s = await setup();
      s.provider.tamperIdTokens(edit, options);
      const response = await s.signIn(alice);
      expect(await problem(response)).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'id_token_invalid' });
      expect(await s.count('users')).toBe(0);
      expect(await s.count('sessions')).toBe(0);
    });
  }

  it('answers 404 for an unknown provider', async () => {
    const s = await setup();
    expect(await problem(await s.get('/v1/auth/oidc/nope/start'))).toEqual({ status: 404, code: 'auth.oidc_unknown_provider' });
    expect(await problem(await s.get('/v1/auth/oidc/nope/callback?code=x&state=y'))).toEqual({ status: 404, code: 'auth.oidc_unknown_provider' });
    expect(await problem(await s.get('/v1/auth/oidc/constructor/start'))).toEqual({ status: 404, code: 'auth.oidc_unknown_provider' });
  });

  it('refuses redirectTo outside the app origin (no open redirect)', async () => {
    const s = await setup();
    for (const target of ['https://evil.example', 'https://evil.example/?x=https://app.example', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'http://app.example/', 'https://app.example.evil.example/']) {
      const response = await s.get(`/v1/auth/oidc/test/start?redirectTo=${encodeURIComponent(target)}`);
      expect(await problem(response), target).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'redirect_not_allowed' });
    }
    expect(await s.count('oidc_states')).toBe(0);
  });

  it('redirects to redirectTo with the tokens in the fragment, never the query', async () => {
    const s = await setup();
    const response = await s.signIn(alice, { redirectTo: '/signed-in?tab=orders#old' });
    expect(response.status).toBe(302);
    expect(await response.text()).toBe('');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}${location.search}`).toBe(`${APP}/signed-in?tab=orders`);
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect(fragment.get('refresh_token')).toMatch(/^plr_/);
    expect(Number(fragment.get('expires_in'))).toBeGreaterThan(0);
    const me = await s.get('/v1/me', { authorization: `Bearer ${fragment.get('access_token')}` });
    expect(me.status).toBe(200);
  });

  it('refuses a disabled account, linked or found by email', async () => {
    const s = await setup();
    const user = (await json(await s.signIn(alice))).user;
    await s.plinth.db.updateTable('users').set({ status: 'disabled' }).where('id', '=', user.id).execute();
    expect(await problem(await s.signIn(alice))).toEqual({ status: 403, code: 'auth.account_disabled' });
    // Another subject with the same verified email: no link is made to the disabled account.
    expect(await problem(await s.signIn({ ...alice, sub: 'alice-other-device' }))).toEqual({ status: 403, code: 'auth.account_disabled' });
    expect(await s.count('oidc_identities')).toBe(1);
    expect(await s.count('sessions')).toBe(1);
  });

  it('signs an account with MFA in without a second step (the provider authenticated the user)', async () => {
    const s = await setup();
    const user = (await json(await s.signIn(alice))).user;
    await s.plinth.db.updateTable('users').set({ mfa_enabled: true }).where('id', '=', user.id).execute();
    const again = await s.signIn(alice);
    expect(again.status).toBe(200);
    expect((await json(again)).user).toMatchObject({ id: user.id, mfaEnabled: true });
  });

  it('signs in through a public client (no secret, PKCE only)', async () => {
    const s = await setup();
    const response = await s.signIn(alice, { provider: 'public' });
    expect(response.status).toBe(200);
    expect((await s.plinth.db.selectFrom('sessions').select('auth_method').executeTakeFirstOrThrow()).auth_method).toBe('oidc:public');
  });

  it('fails when the user denies access at the provider, and consumes the state', async () => {
    const s = await setup();
    const callback = await s.authorize(alice);
    const state = callback.searchParams.get('state')!;
    expect(await problem(await s.get(`/v1/auth/oidc/test/callback?error=access_denied&state=${state}`))).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'provider_error' });
    expect(await s.count('oidc_states')).toBe(0);
  });

  it('refuses a discovery document for another issuer, and a provider that does not answer', async () => {
    const s = await setup();
    const impostor = await s.get('/v1/auth/oidc/impostor/start');
    expect((await json(impostor.clone())).detail).toMatch(/another issuer/);
    expect(await problem(impostor)).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'discovery_failed' });
    expect(await problem(await s.get('/v1/auth/oidc/down/start'))).toEqual({ status: 400, code: 'auth.oidc_failed', reason: 'discovery_failed' });
    expect(await s.count('oidc_states')).toBe(0);
  });

  it('fetches the discovery document once per provider', async () => {
    const s = await setup();
    await s.signIn(alice);
    await s.signIn(alice);
    expect(s.provider.hits.get('/.well-known/openid-configuration')).toBe(1);
  });

  it('gives two simultaneous first sign-ins of one subject one account', async () => {
    const s = await setup();
    const [a, b] = [await s.authorize(alice), await s.authorize(alice)];
    const responses = await Promise.all([a, b].map((u) => s.get(u.pathname + u.search)));
    const ids = await Promise.all(responses.map(async (r) => (await json(r)).user.id));
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(ids[0]).toBe(ids[1]);
    expect(await s.count('users')).toBe(1);
  });

  it('writes no code, state, token or client secret to the log or the audit trail', async () => {
    const s = await setup();
    const callback = await s.authorize(alice);
    const response = await s.get(callback.pathname + callback.search);
    const tokens = await json(response);
    await s.get(callback.pathname + callback.search); // a failure is logged too
    const secrets = [callback.searchParams.get('code')!, callback.searchParams.get('state')!, tokens.accessToken, tokens.refreshToken, CLIENT_SECRET];
    const audit = JSON.stringify(await s.plinth.service<AuditService>('audit').list({ limit: 1000 }));
    expect(s.logLines.join('\n')).toContain('oidc sign-in failed');
    for (const secret of secrets) {
      expect(s.logLines.join('\n')).not.toContain(secret);
      expect(audit).not.toContain(secret);
    }
  });
});

describe('OIDC sign-in on PostgreSQL', () => {
  it('creates the account, then signs the same subject in again', async () => {
    const s = await setup('postgres');
    const first = await s.signIn(alice);
    expect(first.status).toBe(200);
    const user = (await json(first)).user;
    const second = await s.signIn(alice, { redirectTo: '/done' });
    expect(second.status).toBe(302);
    const fragment = new URLSearchParams(new URL(second.headers.get('location')!).hash.slice(1));
    const me = await s.get('/v1/me', { authorization: `Bearer ${fragment.get('access_token')}` });
    expect((await json(me)).id).toBe(user.id);
    expect(await s.count('users')).toBe(1);
  });

  it('gives two simultaneous first sign-ins of one subject one account', async () => {
    const s = await setup('postgres');
    const callbacks = [await s.authorize(alice), await s.authorize(alice), await s.authorize(alice)];
    const responses = await Promise.all(callbacks.map((u) => s.get(u.pathname + u.search)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const ids = new Set(await Promise.all(responses.map(async (r) => (await json(r)).user.id)));
    expect(ids.size).toBe(1);
    expect(await s.count('users')).toBe(1);
    expect(await s.count('oidc_identities')).toBe(1);
    expect(await s.count('sessions')).toBe(3);
  });
});
