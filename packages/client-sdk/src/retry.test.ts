import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type FetchLike, isPlinthApiError, memoryTokenStore, parseRetryAfter, PlinthApiError, webStorageTokenStore } from './index.js';
import { fileTokenStore } from './node.js';
import { retryDelay, retryPolicy } from './retry.js';
import { startTestApp, type TestApp, widgetRoutes } from './test-app.js';

type Sent = { url: string; method: string; headers: Record<string, string> };

/** A fetch that answers from a script, one entry per attempt, and records what was sent. */
function scripted(answers: (number | [number, Record<string, string>] | 'reset')[]): FetchLike & { sent: Sent[] } {
  const sent: Sent[] = [];
  const f: FetchLike = async (url, init) => {
    sent.push({ url, method: init.method, headers: init.headers });
    const next = answers.shift() ?? 200;
    if (next === 'reset') throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    const [status, headers] = typeof next === 'number' ? [next, {}] : next;
    const body = status < 400 ? JSON.stringify({ id: 'w1', name: 'a', count: 1, status: 'ok' }) : JSON.stringify({ type: 'about:blank', title: 'x', status, code: status === 429 ? 'rate_limit.exceeded' : 'service.unavailable' });
    return new Response(body, { status, headers: { 'content-type': status < 400 ? 'application/json' : 'application/problem+json', ...headers } });
  };
  return Object.assign(f, { sent });
}

const fast = { retries: 3, baseDelayMs: 1, maxDelayMs: 50 };

async function rejection(promise: Promise<unknown>): Promise<PlinthApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PlinthApiError);
  return error as PlinthApiError;
}

describe('retries', () => {
  it('sends a GET again after a network error and a 503, then answers', async () => {
    const fetch = scripted(['reset', 503, 200]);
    const client = createClient({ baseUrl: 'http://api.test', fetch, retry: fast });
    expect(await client.health()).toMatchObject({ status: 'ok' });
    expect(fetch.sent.map((s) => s.method)).toEqual(['GET', 'GET', 'GET']);
  });

  it('gives every POST one idempotency key and keeps it across its retries', async () => {
    const fetch = scripted([503, [429, { 'retry-after': '0' }], 201, 201]);
    const client = createClient({ baseUrl: 'http://api.test', fetch, retry: fast, routes: widgetRoutes });
    await client.createWidget({ body: { name: 'a', count: 1 } });
    await client.createWidget({ body: { name: 'a', count: 1 } });
    const keys = fetch.sent.map((s) => s.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keys.slice(0, 3)).toEqual([keys[0], keys[0], keys[0]]);
    expect(keys[3]).not.toBe(keys[0]);
  });

  it('does not retry a POST without a key, nor a PATCH, nor a 4xx that is not 429', async () => {
    let fetch = scripted([503, 201]);
    let client = createClient({ baseUrl: 'http://api.test', fetch, retry: fast, routes: widgetRoutes });
    expect((await rejection(client.createWidget({ body: { name: 'a', count: 1 } }, { idempotencyKey: false }))).status).toBe(503);
    expect(fetch.sent).toHaveLength(1);
    expect(fetch.sent[0]!.headers['idempotency-key']).toBeUndefined();

    fetch = scripted(['reset', 200]);
    client = createClient({ baseUrl: 'http://api.test', fetch, retry: fast, routes: widgetRoutes });
    expect((await rejection(client.updateStock({ params: { sku: 'A' }, body: { lowStockThreshold: 1 } }))).code).toBe('network.error');
    expect(fetch.sent).toHaveLength(1);

    fetch = scripted([404, 200]);
    client = createClient({ baseUrl: 'http://api.test', fetch, retry: fast, routes: widgetRoutes });
    expect((await rejection(client.health())).status).toBe(404);
    expect(fetch.sent).toHaveLength(1);
  });

  it('stops after the allowed retries and throws the last failure', async () => {
    const fetch = scripted([503, 503, 503, 503, 200]);
    const client = createClient({ baseUrl: 'http://api.test', fetch, retry: { ...fast, retries: 2 } });
    expect((await rejection(client.health())).status).toBe(503);
    expect(fetch.sent).toHaveLength(3);
  });

  it('does not wait for a Retry-After longer than maxDelayMs', async () => {
    const fetch = scripted([[503, { 'retry-after': '120' }], 200]);
    const client = createClient({ baseUrl: 'http://api.test', fetch, retry: fast });
    const started = Date.now();
    expect((await rejection(client.health())).status).toBe(503);
    expect(fetch.sent).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('waits what Retry-After asks for', async () => {
    const fetch = scripted([[429, { 'retry-after': '1' }], 200]);
    const client = createClient({ baseUrl: 'http://api.test', fetch, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 5_000 } });
    const started = Date.now();
    await client.health();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('stops waiting when the call is aborted during the backoff', async () => {
    const fetch = scripted([503, 200]);
    const client = createClient({ baseUrl: 'http://api.test', fetch, retry: { retries: 1, baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(client.health(undefined, { signal: controller.signal }))).code).toBe('network.aborted');
    expect(fetch.sent).toHaveLength(1);
  });

  it('backs off exponentially with jitter, parses Retry-After and rejects bad options', () => {
    const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1_000 });
    expect(retryDelay(1, policy, null, 0, () => 0)).toBe(50);
    expect(retryDelay(1, policy, null, 0, () => 1)).toBe(100);
    expect(retryDelay(3, policy, null, 0, () => 1)).toBe(400);
    expect(retryDelay(10, policy, null, 0, () => 1)).toBe(1_000);
    expect(parseRetryAfter('3')).toBe(3_000);
    expect(parseRetryAfter(new Date(Date.now() + 2_000).toUTCString())).toBeGreaterThan(900);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(() => createClient({ baseUrl: 'http://api.test', retry: { retries: -1 } })).toThrow(/retries/);
    expect(() => createClient({ baseUrl: 'http://api.test', retry: { baseDelayMs: Number.NaN } })).toThrow(/baseDelayMs/);
  });
});

describe('retries and token refresh against a real server', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('a sign-up whose answer is lost is retried with the same key and replayed, not run twice', async () => {
    let dropped = false;
    const fetch: FetchLike = async (url, init) => {
      const response = await globalThis.fetch(url, init);
      if (!dropped && init.method === 'POST') {
        dropped = true;
        await response.text();
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
      }
      return response;
    };
    const client = createClient({ baseUrl: app.url, fetch, retry: { retries: 2, baseDelayMs: 10, maxDelayMs: 100 } });
    const up = await client.signUp({ body: { email: 'lost-answer@example.com', password: 'correct horse battery' } });
    expect(dropped).toBe(true);
    expect(up.user.email).toBe('lost-answer@example.com');
    expect(await client.getMe()).toMatchObject({ email: 'lost-answer@example.com' });
    // Without the replay, the second attempt would have been 409 (email taken).
    const again = createClient({ baseUrl: app.url });
    const error = await rejection(again.signUp({ body: { email: 'lost-answer@example.com', password: 'correct horse battery' } }));
    expect(error.status).toBe(409);
  });

  it('refreshes an access token about to expire, once for calls made together', async () => {
    const refreshes: string[] = [];
    const fetch: FetchLike = (url, init) => {
      if (url.endsWith('/v1/auth/refresh')) refreshes.push(url);
      return globalThis.fetch(url, init);
    };
    const store = memoryTokenStore();
    const client = createClient({ baseUrl: app.url, fetch, tokens: store });
    const up = await client.signUp({ body: { email: 'refresh@example.com', password: 'correct horse battery' } });
    await store.set({ accessToken: up.accessToken, refreshToken: up.refreshToken, expiresAt: Date.now() + 1_000 });
    const [a, b, c] = await Promise.all([client.getMe(), client.getMe(), client.getMe()]);
    expect([a.email, b.email, c.email]).toEqual(['refresh@example.com', 'refresh@example.com', 'refresh@example.com']);
    expect(refreshes).toHaveLength(1);
    const stored = await client.session.get();
    expect(stored!.refreshToken).not.toBe(up.refreshToken);
    expect(stored!.expiresAt).toBeGreaterThan(Date.now() + 60_000);
  });

  it('refreshes once after a 401 and sends the call again', async () => {
    const store = memoryTokenStore();
    const client = createClient({ baseUrl: app.url, tokens: store });
    const up = await client.signUp({ body: { email: 'rejected@example.com', password: 'correct horse battery' } });
    await store.set({ accessToken: 'not-a-token', refreshToken: up.refreshToken, expiresAt: Date.now() + 3_600_000 });
    expect(await client.getMe()).toMatchObject({ email: 'rejected@example.com' });
    expect((await client.session.get())!.accessToken).not.toBe('not-a-token');
  });

  it('ends the session when the server refuses the refresh token, and throws the 401', async () => {
    const store = memoryTokenStore();
    const client = createClient({ baseUrl: app.url, tokens: store });
    await client.signUp({ body: { email: 'revoked@example.com', password: 'correct horse battery' } });
    await store.set({ accessToken: 'not-a-token', refreshToken: 'not-a-refresh-token', expiresAt: Date.now() + 3_600_000 });
    const error = await rejection(client.getMe());
    expect(error.status).toBe(401);
    expect(isPlinthApiError(error)).toBe(true);
    expect(await client.session.get()).toBeNull();
  });

  it('keeps the session in a file (mode 0600) or in Web Storage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-tokens-'));
    try {
      const path = join(dir, 'nested', 'tokens.json');
      const client = createClient({ baseUrl: app.url, tokens: fileTokenStore(path) });
      await client.signUp({ body: { email: 'file-store@example.com', password: 'correct horse battery' } });
      expect(statSync(path).mode & 0o777).toBe(0o600);
      // A second client (a later run of the script) picks the session up.
      const later = createClient({ baseUrl: app.url, tokens: fileTokenStore(path) });
      expect(await later.getMe()).toMatchObject({ email: 'file-store@example.com' });
      expect(JSON.parse(readFileSync(path, 'utf8'))).toHaveProperty('refreshToken');
      await later.signOut();
      expect(await fileTokenStore(path).get()).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const entries = new Map<string, string>();
    const storage = { getItem: (k: string) => entries.get(k) ?? null, setItem: (k: string, v: string) => void entries.set(k, v), removeItem: (k: string) => void entries.delete(k) };
    const web = createClient({ baseUrl: app.url, tokens: webStorageTokenStore({ storage, key: 'app.session' }) });
    await web.signUp({ body: { email: 'web-store@example.com', password: 'correct horse battery' } });
    expect(JSON.parse(entries.get('app.session')!)).toHaveProperty('accessToken');
    entries.set('app.session', '{"accessToken": 1}');
    expect(await web.session.get()).toBeNull();
  });
});
