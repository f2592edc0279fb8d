import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { http, jsonOf, plinth, type Served, serve } from './cli.js';

const password = 'Quiet-Harbor-42';

describe('plinth users while plinth serve runs on the same SQLite file', () => {
  let db: TestDatabase;
  let server: Served | undefined;
  afterEach(async () => {
    if (server) expect((await server.stop()).code).toBe(0);
    server = undefined;
    await db.drop();
  });

  const start = async () => {
    db = await createTestDatabase('sqlite');
    server = await serve(['--port', '0', '--database-url', db.url]);
    return server.url;
  };
  const cli = (args: string[], input?: string) => plinth([...args, '--database-url', db.url], { input });
  const signIn = (url: string, email: string) => http(url, 'POST', '/v1/auth/sign-in', { body: { email, password } });

  it('creates the first admin, who signs in over HTTP at once, while the server takes sign-ups concurrently', async () => {
    const url = await start();
    const [admin, ...others] = await Promise.all([
      cli(['users', 'create', '--email', 'root@example.com', '--role', 'admin', '--password-stdin', '--json'], password),
      cli(['users', 'create', '--email', 'ops1@example.com', '--password-stdin', '--json'], password),
      ...[1, 2, 3, 4].map((i) => http(url, 'POST', '/v1/auth/sign-up', { body: { email: `web${i}@example.com`, password } })),
      cli(['users', 'create', '--email', 'ops2@example.com', '--password-stdin', '--json'], password),
    ]);
    expect(admin!.code, admin!.stdout + admin!.stderr).toBe(0);
    for (const other of others) {
      if ('code' in other) expect(other.code, other.stdout + other.stderr).toBe(0);
      else expect(other.status, JSON.stringify(other.body)).toBe(201);
    }
    const created = jsonOf(admin!).user;

    const signedIn = await signIn(url, 'root@example.com');
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(signedIn.body.user).toMatchObject({ id: created.id, emailVerified: true, roles: ['admin'] });
    const me = await http(url, 'GET', '/v1/me', { token: signedIn.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe('root@example.com');

    const list = jsonOf(await cli(['users', 'list', '--json']));
    expect(list.users).toHaveLength(7);
  });

  it('disable stops refresh and sign-in at once, enable lets the user back, set-role shows in the next tokens', async () => {
    const url = await start();
    expect((await http(url, 'POST', '/v1/auth/sign-up', { body: { email: 'carol@example.com', password } })).status).toBe(201);
    const session = await signIn(url, 'carol@example.com');
    expect(session.status).toBe(200);

    const disabled = await cli(['users', 'disable', 'carol@example.com']);
    expect(disabled.code, disabled.stdout + disabled.stderr).toBe(0);
    expect(disabled.stdout).toMatch(/^Disabled carol@example\.com \(\S+\): every session is revoked/);
    const refresh = await http(url, 'POST', '/v1/auth/refresh', { body: { refreshToken: session.body.refreshToken } });
    expect({ status: refresh.status, code: refresh.body.code }).toEqual({ status: 401, code: 'auth.session_revoked' });
    const refused = await signIn(url, 'carol@example.com');
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: 'auth.account_disabled' });

    expect((await cli(['users', 'enable', 'carol@example.com'])).code).toBe(0);
    const back = await signIn(url, 'carol@example.com');
    expect(back.status).toBe(200);
    expect(back.body.user.roles).toEqual(['customer']);

    const set = await cli(['users', 'set-role', 'carol@example.com', 'staff']);
    expect(set.stdout).toMatch(/^Roles of carol@example\.com \(\S+\): customer -> staff \(new access tokens carry them\)\.\n$/);
    const refreshed = await http(url, 'POST', '/v1/auth/refresh', { body: { refreshToken: back.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.user.roles).toEqual(['staff']);
  });
});
