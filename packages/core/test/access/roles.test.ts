/** Roles: built-in ones computed from the modules, custom ones stored, users' roles audited. */
import { describe, expect, it } from 'vitest';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { accessApp, as, system } from './support.js';

describe.each(dialects)('roles on %s', (dialect) => {
  const h = useHarness();

  it('lists the built-in roles with the permissions the loaded modules grant them', async () => {
    const { access } = await accessApp(h, dialect);
    const roles = await access.listRoles(as(system));
    expect(roles.map((r) => [r.name, r.builtin])).toEqual([['admin', true], ['staff', true], ['customer', true]]);
    expect(roles[0]!.permissions).toEqual(['*']);
    expect(roles[1]!.permissions).toEqual([
      'api_keys:read', 'api_keys:write', 'categories:write', 'inventory:adjust', 'inventory:read', 'jobs:read', 'members:read',
      'notifications:deliveries', 'notifications:read:own', 'notifications:templates', 'orders:cancel', 'orders:create',
      'orders:fulfil', 'orders:read', 'orgs:create', 'orgs:read', 'payments:create', 'payments:refund', 'products:write', 'reports:read', 'roles:read', 'users:read', 'webhooks:read',
    ]);
    expect(roles[2]!.permissions).toEqual([
      'api_keys:read', 'api_keys:write', 'notifications:read:own', 'orders:cancel:own', 'orders:create', 'orders:read:own', 'orgs:create', 'payments:create',
    ]);
  });

  it('answers the built-in permission table through the one policy point', async () => {
    const { plinth, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    const staff = await user('sam@example.com', ['staff']);
    const customer = await user('carol@example.com', ['customer']);
    const table: [string, boolean, boolean, boolean][] = [
      // permission, admin, staff, customer
      ['roles:read', true, true, false],
      ['roles:write', true, false, false],
      ['users:read', true, true, false],
      ['users:write', true, false, false],
      ['orgs:create', true, true, true],
      ['orgs:read', true, true, false],
      ['api_keys:write', true, true, true],
      ['catalog:anything', true, false, false],
    ];
    for (const [permission, a, s, c] of table) {
      expect([permission, await plinth.can(admin, permission), await plinth.can(staff, permission), await plinth.can(customer, permission)]).toEqual([permission, a, s, c]);
    }
    expect(await plinth.can(null, 'orgs:create')).toBe(false);
  });

  it('decides for built-in roles without touching the database', async () => {
    const { plinth, user } = await accessApp(h, dialect);
    const staff = await user('sam@example.com', ['staff']);
    await plinth.close();
    expect(await plinth.can(staff, 'users:read')).toBe(true);
    expect(await plinth.can({ ...staff, roles: ['customer', 'staff'] }, 'orgs:create')).toBe(true);
    expect(await plinth.can(staff, 'users:write')).toBe(false);
  });

  it('creates a custom role, changes it, and the policy sees each change at once', async () => {
    const { plinth, access, audit, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    const support = await user('sue@example.com', []);
    const asSupport = { ...support, roles: ['support'] };
    expect(await plinth.can(asSupport, 'users:read')).toBe(false);

    const created = await access.createRole({ name: 'support', description: 'Helps customers', permissions: ['users:read', 'roles:read', 'users:read'] }, as(admin));
    expect(created).toEqual({ name: 'support', description: 'Helps customers', builtin: false, permissions: ['roles:read', 'users:read'], version: 1 });
    expect(await plinth.can(asSupport, 'users:read')).toBe(true);

    const updated = await access.updateRole('support', { permissions: ['members:read'] }, as(admin));
    expect(updated).toEqual({ name: 'support', description: 'Helps customers', builtin: false, permissions: ['members:read'], version: 2 });
    expect(await plinth.can(asSupport, 'users:read')).toBe(false);
    expect(await plinth.can(asSupport, 'members:read')).toBe(true);
    expect((await access.listRoles(as(admin))).map((r) => r.name)).toEqual(['admin', 'staff', 'customer', 'support']);

    const events = await audit.list({ targetId: 'support' });
    expect(events.map((e) => e.action)).toEqual(['access.role.updated', 'access.role.created']);
    expect(events[0]!.data).toEqual({ before: ['roles:read', 'users:read'], after: ['members:read'] });

    await access.deleteRole('support', as(admin));
    expect(await plinth.can(asSupport, 'members:read')).toBe(false);
    await expect(access.getRole('support', as(admin))).rejects.toMatchObject({ code: 'access.role_not_found', status: 404 });
  });

  it('sees a custom role changed by another process once the short cache expires', async () => {
    const { plinth, access, clock, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    await access.createRole({ name: 'auditor', permissions: ['users:read'] }, as(admin));
    const auditor = { ...(await user('al@example.com', [])), roles: ['auditor'] };
    expect(await plinth.can(auditor, 'users:read')).toBe(true);
    // Another process removes the permission behind this one's back.
    await plinth.db.deleteFrom('role_permissions').where('role', '=', 'auditor').execute();
    expect(await plinth.can(auditor, 'users:read')).toBe(true);
    clock.advance(5_001);
    expect(await plinth.can(auditor, 'users:read')).toBe(false);
  });

  it('refuses to edit built-in roles, to reuse a name, unknown roles and unknown permissions', async () => {
    const { access, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    await expect(access.updateRole('staff', { permissions: ['users:write'] }, as(admin))).rejects.toMatchObject({ code: 'access.role_builtin', status: 409 });
    await expect(access.createRole({ name: 'customer', permissions: [] }, as(admin))).rejects.toMatchObject({ code: 'access.role_builtin', status: 409 });
    await access.createRole({ name: 'ops', permissions: [] }, as(admin));
    await expect(access.createRole({ name: 'ops', permissions: [] }, as(admin))).rejects.toMatchObject({ code: 'access.role_exists', status: 409 });
    await expect(access.updateRole('nope', { permissions: [] }, as(admin))).rejects.toMatchObject({ code: 'access.role_not_found', status: 404 });
    await expect(access.createRole({ name: 'typo', permissions: ['users:reed'] }, as(admin))).rejects.toMatchObject({
      code: 'validation.failed',
      status: 422,
      errors: [{ path: 'permissions.0', code: 'unknown_permission' }],
    });
    // The `:own` form of a declared permission is a permission too.
    expect((await access.createRole({ name: 'self-service', permissions: ['api_keys:write:own'] }, as(admin))).permissions).toEqual(['api_keys:write:own']);
  });

  it('lets nobody grant a permission they do not hold, even with roles:write', async () => {
    const { access, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    await access.createRole({ name: 'role-admin', permissions: ['roles:write', 'roles:read'] }, as(admin));
    const roleAdmin = { ...(await user('ra@example.com', [])), roles: ['role-admin'] };
    await expect(access.createRole({ name: 'sneaky', permissions: ['users:write'] }, as(roleAdmin))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    expect((await access.createRole({ name: 'reader', permissions: ['roles:read'] }, as(roleAdmin))).permissions).toEqual(['roles:read']);
    const customer = await user('carol@example.com');
    await expect(access.createRole({ name: 'x1', permissions: [] }, as(customer))).rejects.toMatchObject({ code: 'auth.forbidden' });
    await expect(access.listRoles(as(customer))).rejects.toMatchObject({ code: 'auth.forbidden' });
    await expect(access.listRoles(as(null))).rejects.toMatchObject({ code: 'auth.unauthenticated', status: 401 });
  });

  it('replaces a user’s roles, audits before/after and bumps the user’s version', async () => {
    const { plinth, access, audit, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    const carol = await user('carol@example.com', ['customer']);
    expect(await access.setRoles(carol.userId, ['staff', 'customer', 'staff'], as(admin))).toEqual({ before: ['customer'], after: ['customer', 'staff'] });
    expect(await access.rolesOf(carol.userId)).toEqual(['customer', 'staff']);
    const row = await plinth.db.selectFrom('users').select('version').where('id', '=', carol.userId).executeTakeFirstOrThrow();
    expect(Number(row.version)).toBe(2);
    const [event] = await audit.list({ action: 'access.roles.changed' });
    expect(event).toMatchObject({ actorType: 'user', actorId: admin.userId, targetId: carol.userId, ip: '203.0.113.9', data: { before: ['customer'], after: ['customer', 'staff'] } });
    // The same set again changes nothing and records nothing.
    await access.setRoles(carol.userId, ['customer', 'staff'], as(admin));
    expect(await audit.list({ action: 'access.roles.changed' })).toHaveLength(1);
  });

  it('rejects unknown roles and users, and lets only an admin make or unmake an admin', async () => {
    const { access, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    const carol = await user('carol@example.com');
    await expect(access.setRoles(carol.userId, ['customer', 'wizard'], as(admin))).rejects.toMatchObject({ code: 'access.role_not_found', status: 404, details: { roles: ['wizard'] } });
    await expect(access.setRoles('no-such-user', ['customer'], as(admin))).rejects.toMatchObject({ code: 'access.user_not_found', status: 404 });
    expect(await access.rolesOf(carol.userId)).toEqual(['customer']);

    // Everything staff and customers hold (whatever the loaded modules grant them), plus users:write.
    const granted = new Set((await access.listRoles(as(admin))).filter((r) => r.name !== 'admin').flatMap((r) => r.permissions));
    await access.createRole({ name: 'user-admin', permissions: ['users:write', ...granted] }, as(admin));
    const manager = { ...(await user('mo@example.com', [])), roles: ['user-admin'] };
    await expect(access.setRoles(carol.userId, ['admin'], as(manager))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    await expect(access.setRoles(admin.userId, [], as(manager))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    expect(await access.setRoles(carol.userId, ['staff'], as(manager))).toEqual({ before: ['customer'], after: ['staff'] });
    expect(await access.setRoles(carol.userId, ['admin'], as(system))).toEqual({ before: ['staff'], after: ['admin'] });
  });

  it('gives new accounts the customer role, once', async () => {
    const { access, plinth, user } = await accessApp(h, dialect);
    const fresh = await user('new@example.com', []);
    await plinth.transaction(async () => {
      await access.grantDefaultRole(fresh.userId);
      await access.grantDefaultRole(fresh.userId);
    });
    expect(await access.rolesOf(fresh.userId)).toEqual(['customer']);
  });
});
