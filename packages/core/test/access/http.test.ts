/**
 * The access and API-key routes over real HTTP, with real tokens from sign-up:
 * success, validation failure, unauthenticated, forbidden and not found for each.
 */
import { describe, expect, it } from 'vitest';
import type { AccessService } from '../../src/modules/access/service.js';
import { dialects } from '../../src/testing/index.js';
import { signUp, startApp, type TestApp } from '../support/app.js';
import { useHarness } from '../support/harness.js';
import { as, system } from './support.js';

type Signed = Awaited<ReturnType<typeof signUp>>;
interface Who {
  id: string;
  email: string;
  token: string;
}

const problem = (res: { status: number; body: any }, status: number, code: string) => {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
};

describe.each(dialects)('access routes on %s', (dialect) => {
  const h = useHarness();

  async function world() {
    const app = await startApp(h, dialect);
    const access = app.plinth.service<AccessService>('access');
    /** Signs up, gives the roles, and refreshes so the access token carries them. */
    const person = async (email: string, roles?: string[]): Promise<Who> => {
      const signed: Signed = await signUp(app, email);
      if (!roles) return { id: signed.user.id, email, token: signed.accessToken };
      await access.setRoles(signed.user.id, roles, as(system));
      const refreshed = await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: signed.refreshToken } });
      expect(refreshed.body.user.roles).toEqual(roles);
      return { id: signed.user.id, email, token: refreshed.body.accessToken };
    };
    const [admin, staff, carol, dave] = [
      await person('root@example.com', ['admin']),
      await person('sam@example.com', ['staff']),
      await person('carol@example.com'),
      await person('dave@example.com'),
    ];
    return { app, access, admin, staff, carol, dave, person };
  }

  const call = (app: TestApp, method: string, path: string, who?: Who | null, body?: unknown) =>
    app.call(method, path, { ...(who ? { token: who.token } : {}), ...(body === undefined ? {} : { body }) });

  it('GET/POST/PUT /v1/roles', async () => {
    const { app, admin, staff, carol } = await world();
    // list
    const list = await call(app, 'GET', '/v1/roles', staff);
    expect(list.status).toBe(200);
    expect(list.body.data.map((r: any) => r.name)).toEqual(['admin', 'staff', 'customer']);
    expect(list.body.data[2].permissions).toEqual(['api_keys:read', 'api_keys:write', 'notifications:read:own', 'orders:cancel:own', 'orders:create', 'orders:read:own', 'orgs:create', 'payments:create']);
    problem(await call(app, 'GET', '/v1/roles', null), 401, 'auth.unauthenticated');
    problem(await call(app, 'GET', '/v1/roles', carol), 403, 'auth.forbidden');
    // create
    const created = await call(app, 'POST', '/v1/roles', admin, { name: 'support', description: 'Helpdesk', permissions: ['users:read'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'support', description: 'Helpdesk', builtin: false, permissions: ['users:read'], version: 1 });
    problem(await call(app, 'POST', '/v1/roles', admin, { name: 'Bad Name', permissions: [] }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/roles', admin, { name: 'ok', permissions: ['not a permission'] }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/roles', admin, { name: 'ok', permissions: ['users:reed'] }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/roles', admin, { name: 'ok', permissions: [], builtin: true }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/roles', null, { name: 'ok', permissions: [] }), 401, 'auth.unauthenticated');
    problem(await call(app, 'POST', '/v1/roles', staff, { name: 'ok', permissions: [] }), 403, 'auth.forbidden');
    problem(await call(app, 'POST', '/v1/roles', admin, { name: 'staff', permissions: [] }), 409, 'access.role_builtin');
    problem(await call(app, 'POST', '/v1/roles', admin, { name: 'support', permissions: [] }), 409, 'access.role_exists');
    // update
    const updated = await call(app, 'PUT', '/v1/roles/support', admin, { permissions: ['users:read', 'roles:read'] });
    expect(updated.status).toBe(200);
    expect(updated.body.permissions).toEqual(['roles:read', 'users:read']);
    problem(await call(app, 'PUT', '/v1/roles/support', admin, { permissions: 'users:read' }), 422, 'validation.failed');
    problem(await call(app, 'PUT', '/v1/roles/support', null, { permissions: [] }), 401, 'auth.unauthenticated');
    problem(await call(app, 'PUT', '/v1/roles/support', staff, { permissions: [] }), 403, 'auth.forbidden');
    problem(await call(app, 'PUT', '/v1/roles/nobody', admin, { permissions: [] }), 404, 'access.role_not_found');
    problem(await call(app, 'PUT', '/v1/roles/customer', admin, { permissions: [] }), 409, 'access.role_builtin');
  });

  it('GET/POST /v1/orgs and GET /v1/orgs/:id', async () => {
    const { app, staff, carol, dave } = await world();
    const created = await call(app, 'POST', '/v1/orgs', carol, { name: 'Acme', slug: 'acme' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Acme', slug: 'acme', role: 'owner' });
    const id = created.body.id as string;
    problem(await call(app, 'POST', '/v1/orgs', carol, { name: 'Acme', slug: 'Not A Slug' }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/orgs', carol, { name: '', slug: 'empty' }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/orgs', null, { name: 'Acme', slug: 'acme2' }), 401, 'auth.unauthenticated');
    problem(await call(app, 'POST', '/v1/orgs', dave, { name: 'Copy', slug: 'acme' }), 409, 'access.org_slug_taken');

    const mine = await call(app, 'GET', '/v1/orgs', carol);
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({ data: [expect.objectContaining({ id, role: 'owner' })], nextCursor: null });
    expect((await call(app, 'GET', '/v1/orgs', dave)).body).toEqual({ data: [], nextCursor: null });
    expect((await call(app, 'GET', '/v1/orgs', staff)).body.data).toHaveLength(1);
    problem(await call(app, 'GET', '/v1/orgs?limit=0', carol), 422, 'validation.failed');
    problem(await call(app, 'GET', '/v1/orgs', null), 401, 'auth.unauthenticated');

    expect((await call(app, 'GET', `/v1/orgs/${id}`, carol)).body).toMatchObject({ id, role: 'owner' });
    expect((await call(app, 'GET', `/v1/orgs/${id}`, staff)).status).toBe(200);
    problem(await call(app, 'GET', `/v1/orgs/${id}`, dave), 404, 'access.org_not_found');
    problem(await call(app, 'GET', '/v1/orgs/no-such-org', carol), 404, 'access.org_not_found');
    problem(await call(app, 'GET', `/v1/orgs/${'x'.repeat(65)}`, carol), 422, 'validation.failed');
    problem(await call(app, 'GET', `/v1/orgs/${id}`, null), 401, 'auth.unauthenticated');
  });

  it('GET/POST/PATCH/DELETE /v1/orgs/:id/members', async () => {
    const { app, carol, dave, person } = await world();
    const mia = await person('mia@example.com');
    const id = (await call(app, 'POST', '/v1/orgs', carol, { name: 'Acme', slug: 'acme' })).body.id as string;
    const members = `/v1/orgs/${id}/members`;
    // add
    const added = await call(app, 'POST', members, carol, { email: 'mia@example.com' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ userId: mia.id, email: 'mia@example.com', role: 'member' });
    problem(await call(app, 'POST', members, carol, { email: 'dave@example.com', role: 'king' }), 422, 'validation.failed');
    problem(await call(app, 'POST', members, null, { email: 'dave@example.com' }), 401, 'auth.unauthenticated');
    problem(await call(app, 'POST', members, mia, { email: 'dave@example.com' }), 403, 'auth.forbidden');
    problem(await call(app, 'POST', members, dave, { email: 'dave@example.com' }), 404, 'access.org_not_found');
    problem(await call(app, 'POST', members, carol, { email: 'ghost@example.com' }), 404, 'access.user_not_found');
    problem(await call(app, 'POST', members, carol, { email: 'mia@example.com' }), 409, 'access.member_exists');
    // list
    const listed = await call(app, 'GET', `${members}?limit=1`, mia);
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.nextCursor).not.toBeNull();
    problem(await call(app, 'GET', `${members}?limit=abc`, mia), 422, 'validation.failed');
    problem(await call(app, 'GET', members, null), 401, 'auth.unauthenticated');
    problem(await call(app, 'GET', members, dave), 404, 'access.org_not_found');
    // update
    const promoted = await call(app, 'PATCH', `${members}/${mia.id}`, carol, { role: 'admin' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('admin');
    problem(await call(app, 'PATCH', `${members}/${mia.id}`, carol, { role: 'emperor' }), 422, 'validation.failed');
    problem(await call(app, 'PATCH', `${members}/${mia.id}`, null, { role: 'member' }), 401, 'auth.unauthenticated');
    problem(await call(app, 'PATCH', `${members}/${carol.id}`, mia, { role: 'member' }), 403, 'auth.forbidden');
    problem(await call(app, 'PATCH', `${members}/${dave.id}`, carol, { role: 'member' }), 404, 'access.member_not_found');
    problem(await call(app, 'PATCH', `${members}/${carol.id}`, carol, { role: 'member' }), 409, 'access.last_owner');
    // remove
    problem(await call(app, 'DELETE', `${members}/${carol.id}`, null), 401, 'auth.unauthenticated');
    problem(await call(app, 'DELETE', `${members}/${carol.id}`, mia), 403, 'auth.forbidden');
    problem(await call(app, 'DELETE', `${members}/${dave.id}`, carol), 404, 'access.member_not_found');
    problem(await call(app, 'DELETE', `${members}/${carol.id}`, carol), 409, 'access.last_owner');
    problem(await call(app, 'DELETE', `${members}/${'x'.repeat(65)}`, carol), 422, 'validation.failed');
    const removed = await call(app, 'DELETE', `${members}/${mia.id}`, carol);
    expect(removed.status).toBe(204);
    problem(await call(app, 'GET', `/v1/orgs/${id}`, mia), 404, 'access.org_not_found');
  });

  it('GET/PATCH /v1/admin/users, GET /v1/admin/users/:id, POST .../revoke-sessions', async () => {
    const { app, admin, staff, carol, person } = await world();
    const erin = await signUp(app, 'erin@example.com');
    // list and search
    const all = await call(app, 'GET', '/v1/admin/users?limit=2', staff);
    expect(all.status).toBe(200);
    expect(all.body.data).toHaveLength(2);
    expect(all.body.nextCursor).toBe(all.body.data[1].id);
    expect(all.body).not.toHaveProperty('total');
    const found = await call(app, 'GET', '/v1/admin/users?q=ERIN&role=customer&status=active', staff);
    expect(found.body.data.map((u: any) => u.email)).toEqual(['erin@example.com']);
    problem(await call(app, 'GET', '/v1/admin/users?status=sleeping', staff), 422, 'validation.failed');
    problem(await call(app, 'GET', '/v1/admin/users', null), 401, 'auth.unauthenticated');
    problem(await call(app, 'GET', '/v1/admin/users', carol), 403, 'auth.forbidden');
    // one
    expect((await call(app, 'GET', `/v1/admin/users/${carol.id}`, staff)).body).toMatchObject({ id: carol.id, roles: ['customer'] });
    problem(await call(app, 'GET', '/v1/admin/users/nobody', staff), 404, 'access.user_not_found');
    problem(await call(app, 'GET', `/v1/admin/users/${'x'.repeat(65)}`, staff), 422, 'validation.failed');
    problem(await call(app, 'GET', `/v1/admin/users/${carol.id}`, null), 401, 'auth.unauthenticated');
    problem(await call(app, 'GET', `/v1/admin/users/${carol.id}`, carol), 403, 'auth.forbidden');
    // update: disabling stops refresh at once; the access token lives out its short lifetime
    const disabled = await call(app, 'PATCH', `/v1/admin/users/${erin.user.id}`, admin, { status: 'disabled' });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ status: 'disabled', version: 2 });
    expect((await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: erin.refreshToken } })).status).toBe(401);
    expect((await app.call('POST', '/v1/auth/sign-in', { body: { email: 'erin@example.com', password: erin.password } })).status).toBe(403);
    const roles = await call(app, 'PATCH', `/v1/admin/users/${carol.id}`, admin, { roles: ['customer', 'staff'] });
    expect(roles.body.roles).toEqual(['customer', 'staff']);
    problem(await call(app, 'PATCH', `/v1/admin/users/${carol.id}`, admin, { status: 'deleted' }), 422, 'validation.failed');
    problem(await call(app, 'PATCH', `/v1/admin/users/${carol.id}`, admin, { roles: ['wizard'] }), 404, 'access.role_not_found');
    problem(await call(app, 'PATCH', `/v1/admin/users/${carol.id}`, null, { status: 'active' }), 401, 'auth.unauthenticated');
    problem(await call(app, 'PATCH', `/v1/admin/users/${carol.id}`, staff, { status: 'disabled' }), 403, 'auth.forbidden');
    problem(await call(app, 'PATCH', '/v1/admin/users/nobody', admin, { status: 'disabled' }), 404, 'access.user_not_found');
    // revoke sessions
    const frank = await person('frank@example.com');
    const second = await signUp(app, 'gina@example.com');
    const revoked = await call(app, 'POST', `/v1/admin/users/${second.user.id}/revoke-sessions`, admin);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ revoked: 1 });
    expect((await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: second.refreshToken } })).status).toBe(401);
    problem(await call(app, 'POST', `/v1/admin/users/${frank.id}/revoke-sessions`, null), 401, 'auth.unauthenticated');
    problem(await call(app, 'POST', `/v1/admin/users/${frank.id}/revoke-sessions`, staff), 403, 'auth.forbidden');
    problem(await call(app, 'POST', '/v1/admin/users/nobody/revoke-sessions', admin), 404, 'access.user_not_found');
    problem(await call(app, 'POST', `/v1/admin/users/${'x'.repeat(65)}/revoke-sessions`, admin), 422, 'validation.failed');
  });

  it('GET/POST/DELETE /v1/api-keys, and keys as credentials (X-API-Key and Bearer)', async () => {
    const { app, staff, carol, dave } = await world();
    const created = await call(app, 'POST', '/v1/api-keys', carol, { name: 'CI', scopes: ['orgs:create', 'api_keys:read'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'CI', scopes: ['api_keys:read', 'orgs:create'], key: expect.stringMatching(/^plk_/) });
    const key = created.body.key as string;
    problem(await call(app, 'POST', '/v1/api-keys', carol, { name: 'x', scopes: ['NOT VALID'] }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/api-keys', carol, { name: 'x', expiresAt: '2001-01-01T00:00:00Z' }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/api-keys', carol, { name: 'x', expiresAt: 'tomorrow' }), 422, 'validation.failed');
    problem(await call(app, 'POST', '/v1/api-keys', null, { name: 'x' }), 401, 'auth.unauthenticated');
    problem(await call(app, 'POST', '/v1/api-keys', carol, { name: 'x', scopes: ['users:read'] }), 403, 'auth.forbidden');

    // The key works as a credential, within its scopes.
    const viaHeader = await app.call('POST', '/v1/orgs', { headers: { 'x-api-key': key }, body: { name: 'Bot org', slug: 'bot-org' } });
    expect(viaHeader.status).toBe(201);
    const listed = await app.call('GET', '/v1/api-keys', { token: key });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: any) => k.prefix)).toEqual([key.slice(0, 12)]);
    expect(JSON.stringify(listed.body)).not.toContain(key);
    problem(await app.call('GET', '/v1/roles', { token: key }), 403, 'auth.forbidden');
    problem(await app.call('POST', '/v1/api-keys', { token: key, body: { name: 'child' } }), 403, 'auth.forbidden');
    problem(await app.call('DELETE', `/v1/api-keys/${created.body.id}`, { token: key }), 403, 'auth.forbidden');
    problem(await app.call('GET', '/v1/api-keys', { token: `${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}` }), 401, 'auth.api_key_invalid');
    problem(await app.call('GET', '/v1/api-keys', { headers: { 'x-api-key': 'plk_nope' } }), 401, 'auth.api_key_invalid');

    // Lists are mine only, for staff too.
    expect((await call(app, 'GET', '/v1/api-keys', staff)).body).toEqual({ data: [], nextCursor: null });
    problem(await call(app, 'GET', '/v1/api-keys?limit=500', carol), 422, 'validation.failed');
    problem(await call(app, 'GET', '/v1/api-keys', null), 401, 'auth.unauthenticated');

    // Revoke: someone else's is 404; mine is 204 and the key stops working.
    problem(await call(app, 'DELETE', `/v1/api-keys/${created.body.id}`, dave), 404, 'resource.not_found');
    problem(await call(app, 'DELETE', `/v1/api-keys/${'x'.repeat(65)}`, carol), 422, 'validation.failed');
    problem(await call(app, 'DELETE', `/v1/api-keys/${created.body.id}`, null), 401, 'auth.unauthenticated');
    expect((await call(app, 'DELETE', `/v1/api-keys/${created.body.id}`, carol)).status).toBe(204);
    problem(await app.call('GET', '/v1/api-keys', { token: key }), 401, 'auth.api_key_invalid');
    expect(app.logs.join('\n')).not.toContain(key.slice(12));
  });
});
