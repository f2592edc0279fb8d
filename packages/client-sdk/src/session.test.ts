import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, isPlinthApiError, memoryTokenStore, type StoredTokens } from './index.js';
import { startTestApp, type TestApp } from './test-app.js';

describe('signing in through the client', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('stores the tokens of sign-up, sends them, rotates them on refresh and forgets them on sign-out', async () => {
    const store = memoryTokenStore();
    const client = createClient({ baseUrl: app.url, tokens: store });
    const up = await client.signUp({ body: { email: 'sdk@example.com', password: 'correct horse battery' } });
    expect(up).toMatchObject({ tokenType: 'Bearer', user: { email: 'sdk@example.com' } });
    expect(await client.session.get()).toMatchObject({ accessToken: up.accessToken, refreshToken: up.refreshToken });

    expect(await client.getMe()).toMatchObject({ id: up.user.id, email: 'sdk@example.com' });
    const sessions = await client.listSessions();
    expect(sessions.data).toHaveLength(1);
    expect(sessions.data[0]!.current).toBe(true);

    const refreshed = await client.refresh({ body: { refreshToken: up.refreshToken } });
    expect((store.get() as StoredTokens).refreshToken).toBe(refreshed.refreshToken);
    expect(refreshed.refreshToken).not.toBe(up.refreshToken);

    await client.signOut();
    expect(await client.session.get()).toBeNull();
    const error = await client.getMe().catch((e: unknown) => e);
    expect(isPlinthApiError(error) && [error.status, error.code]).toEqual([401, 'auth.unauthenticated']);
  });

  it('surfaces identity errors with their stable codes and keeps the session untouched', async () => {
    const client = createClient({ baseUrl: app.url });
    const wrong = await client.signIn({ body: { email: 'nobody@example.com', password: 'wrong password' } }).catch((e: unknown) => e);
    expect(isPlinthApiError(wrong) && [wrong.status, wrong.code]).toEqual([401, 'auth.invalid_credentials']);
    expect(await client.session.get()).toBeNull();
    const weak = await client.signUp({ body: { email: 'weak@example.com', password: 'password1' } }).catch((e: unknown) => e);
    expect(isPlinthApiError(weak) && [weak.status, weak.code]).toEqual([422, 'auth.weak_password']);
  });
});
