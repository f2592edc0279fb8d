/**
 * The access seam: routes are closed unless they say otherwise, the server
 * asks the kernel's hooks who is calling and whether they may, and answers
 * 401/403 problems before any handler runs.
 */
import { type Actor, createPlinth, defineModule, implement, PlinthError, type Plinth } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { createServer, type PlinthServer } from '@plinth/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const whoami = z.object({ actor: z.string() });
const routes = {
  open: defineRoute({ auth: 'public', method: 'GET', path: '/v1/open', operationId: 'open', summary: 'o', response: whoami }),
  maybe: defineRoute({ auth: 'optional', method: 'GET', path: '/v1/maybe', operationId: 'maybe', summary: 'm', response: whoami }),
  closed: defineRoute({ method: 'GET', path: '/v1/closed', operationId: 'closed', summary: 'c', response: whoami }),
  guarded: defineRoute({ method: 'POST', path: '/v1/guarded', operationId: 'guarded', summary: 'g', permission: 'things:write', body: z.object({ n: z.number() }), response: whoami }),
};
const describeActor = (actor: Actor | null) => (actor ? (actor.kind === 'system' ? 'system' : `${actor.kind}:${actor.userId}`) : 'anonymous');
let calls = 0;
const handlers = Object.values(routes).map((route) =>
  implement(route, ({ actor }) => {
    calls++;
    return { actor: describeActor(actor) };
  }),
);
const appModule = defineModule({ name: 'app', routes: handlers });

/** A stand-in identity/access pair: token "alice" is an admin, "bob" a customer, anything else is rejected. */
const fakeAuth = defineModule({
  name: 'fake-auth',
  auth: () => ({
    async authenticate({ authorization }) {
      if (!authorization) return null;
      const user = /^Bearer (alice|bob)$/.exec(authorization)?.[1];
      if (!user) throw new PlinthError('auth.invalid_token', 'The access token is not valid', { status: 401 });
      return { kind: 'user', userId: user, sessionId: 's', roles: [user === 'alice' ? 'admin' : 'customer'] };
    },
    async can(actor, permission) {
      return actor?.kind === 'user' && actor.roles.includes('admin') && permission === 'things:write';
    },
  }),
});

let db: TestDatabase | undefined;
let server: PlinthServer | undefined;
afterEach(async () => {
  await server?.close();
  await db?.drop();
  server = undefined;
  db = undefined;
});

async function start(modules: Parameters<typeof createPlinth>[0]['modules']): Promise<{ url: string; plinth: Plinth }> {
  db = await createTestDatabase('sqlite');
  const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', builtins: false, modules });
  await plinth.start();
  server = createServer(plinth, { port: 0 });
  const { url } = await server.listen();
  return { url, plinth };
}

const get = (url: string, token?: string) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('without an identity module', () => {
  it('answers public routes, and 401 with WWW-Authenticate on every other route, before any handler runs', async () => {
    const { url } = await start([appModule]);
    calls = 0;
    expect(await (await get(`${url}/v1/open`)).json()).toEqual({ actor: 'anonymous' });
    expect(calls).toBe(1);
    for (const [path, token] of [['/v1/closed', undefined], ['/v1/closed', 'alice'], ['/v1/maybe', 'alice']] as const) {
      const res = await get(`${url}${path}`, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((await res.json()).code).toBe('auth.unauthenticated');
    }
    expect(calls).toBe(1);
  });

  it('lets a system actor do anything and nobody else', async () => {
    const { plinth } = await start([appModule]);
    expect(await plinth.can({ kind: 'system', name: 'cli' }, 'things:write')).toBe(true);
    expect(await plinth.can({ kind: 'user', userId: 'u', sessionId: 's', roles: ['admin'] }, 'things:write')).toBe(false);
    await expect(plinth.authorize(null, 'things:write')).rejects.toMatchObject({ code: 'auth.unauthenticated', status: 401 });
  });
});

describe('with auth hooks from a module', () => {
  it('passes the actor to handlers, checks credentials on optional routes only when sent', async () => {
    const { url } = await start([appModule, fakeAuth]);
    expect(await (await get(`${url}/v1/closed`, 'bob')).json()).toEqual({ actor: 'user:bob' });
    expect(await (await get(`${url}/v1/maybe`)).json()).toEqual({ actor: 'anonymous' });
    expect(await (await get(`${url}/v1/maybe`, 'alice')).json()).toEqual({ actor: 'user:alice' });
    const bad = await get(`${url}/v1/maybe`, 'mallory');
    expect(bad.status).toBe(401);
    expect((await bad.json()).code).toBe('auth.invalid_token');
    expect(await (await get(`${url}/v1/open`, 'mallory')).json()).toEqual({ actor: 'anonymous' });
  });

  it('checks a route permission before reading the body: 401 anonymous, 403 without it, 200 with it', async () => {
    const { url } = await start([appModule, fakeAuth]);
    calls = 0;
    const post = (token?: string, body = '{"n":1}') =>
      fetch(`${url}/v1/guarded`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    expect((await post()).status).toBe(401);
    const denied = await post('bob', '{not json');
    expect(denied.status).toBe(403);
    expect((await denied.json()).code).toBe('auth.forbidden');
    expect(calls).toBe(0);
    const allowed = await post('alice');
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ actor: 'user:alice' });
  });

  it('refuses two modules providing the same hook', () => {
    const twin = defineModule({ name: 'twin', auth: fakeAuth.auth });
    expect(() => createPlinth({ databaseUrl: 'sqlite::memory:', processEnv: false, builtins: false, modules: [fakeAuth, twin] })).toThrow(/provide auth.authenticate/);
  });

  it('marks non-public routes as secured in /openapi.json', async () => {
    const { url } = await start([appModule, fakeAuth]);
    const doc = await (await get(`${url}/openapi.json`)).json();
    expect(doc.paths['/v1/open'].get.security).toEqual([]);
    expect(doc.paths['/v1/guarded'].post.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(doc.paths['/v1/guarded'].post['x-permission']).toBe('things:write');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});
