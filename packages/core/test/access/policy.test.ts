/** The policy rules on their own: no database, facts handed in. */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/auth.js';
import { createPolicy, grants } from '../../src/modules/access/policy.js';
import type { OrgRole } from '../../src/modules/access/types.js';

const roles: Record<string, string[]> = {
  admin: ['*'],
  staff: ['orders:read', 'users:read', 'orgs:read'],
  customer: ['orders:read:own', 'orders:create', 'api_keys:write'],
  auditor: ['audit:read'],
};
const memberships: Record<string, OrgRole> = { 'org-1/alice': 'owner', 'org-1/bob': 'member', 'org-2/bob': 'admin' };

const policy = createPolicy({
  permissionsOfRoles: (names) => new Set(names.flatMap((n) => roles[n] ?? [])),
  orgRole: async (orgId, userId) => memberships[`${orgId}/${userId}`] ?? null,
  orgRolesOf: async (userId) => [...new Set(Object.entries(memberships).filter(([k]) => k.endsWith(`/${userId}`)).map(([, r]) => r))],
});

const user = (userId: string, ...r: string[]): Actor => ({ kind: 'user', userId, sessionId: 's', roles: r });
const key = (userId: string, r: string[], scopes: string[]): Actor => ({ kind: 'api_key', keyId: 'k', userId, roles: r, scopes });
const order = (ownerId: string) => ({ type: 'order', id: 'o1', ownerId });
const org = (orgId: string) => ({ type: 'org', id: orgId, orgId });

describe('grants', () => {
  it('matches exact permissions, * for everything, p for p:own, and p:own only on own resources', () => {
    expect(grants(new Set(['a:b']), 'a:b', false)).toBe(true);
    expect(grants(new Set(['*']), 'x:y', false)).toBe(true);
    expect(grants(new Set(['a:b']), 'a:b:own', false)).toBe(true);
    expect(grants(new Set(['a:b:own']), 'a:b', false)).toBe(false);
    expect(grants(new Set(['a:b:own']), 'a:b', true)).toBe(true);
    expect(grants(new Set(['a:b']), 'a:c', true)).toBe(false);
  });
});

describe('can', () => {
  it('lets the system actor do anything and nobody (null) anything', async () => {
    expect(await policy.can({ kind: 'system', name: 'cli' }, 'anything:at_all')).toBe(true);
    expect(await policy.can(null, 'orders:read')).toBe(false);
  });

  it('gives a user the union of their roles, admin everything, an unknown role nothing', async () => {
    expect(await policy.can(user('u', 'admin'), 'users:write')).toBe(true);
    expect(await policy.can(user('u', 'staff', 'auditor'), 'audit:read')).toBe(true);
    expect(await policy.can(user('u', 'staff', 'auditor'), 'users:read')).toBe(true);
    expect(await policy.can(user('u', 'customer'), 'users:read')).toBe(false);
    expect(await policy.can(user('u', 'ghost'), 'users:read')).toBe(false);
    expect(await policy.can(user('u'), 'orders:create')).toBe(false);
  });

  it('lets a holder of p:own act only on resources they own; a holder of p on any', async () => {
    expect(await policy.can(user('carol', 'customer'), 'orders:read', order('carol'))).toBe(true);
    expect(await policy.can(user('carol', 'customer'), 'orders:read', order('dave'))).toBe(false);
    expect(await policy.can(user('carol', 'customer'), 'orders:read')).toBe(false);
    expect(await policy.can(user('carol', 'customer'), 'orders:read', { type: 'order', ownerId: null })).toBe(false);
    expect(await policy.can(user('sam', 'staff'), 'orders:read', order('dave'))).toBe(true);
  });

  it('grants org-scoped permissions by org role, in that org only', async () => {
    expect(await policy.can(user('bob', 'customer'), 'members:read', org('org-1'))).toBe(true);
    expect(await policy.can(user('bob', 'customer'), 'members:write', org('org-1'))).toBe(false);
    expect(await policy.can(user('bob', 'customer'), 'members:write', org('org-2'))).toBe(true);
    expect(await policy.can(user('bob', 'customer'), 'orgs:delete', org('org-2'))).toBe(false);
    expect(await policy.can(user('alice', 'customer'), 'orgs:delete', org('org-1'))).toBe(true);
    expect(await policy.can(user('alice', 'customer'), 'orgs:read', org('org-2'))).toBe(false);
    expect(await policy.can(user('alice', 'customer'), 'members:read')).toBe(false);
    // Org roles grant only org-scoped permissions, whatever the resource says.
    expect(await policy.can(user('alice', 'customer'), 'users:read', org('org-1'))).toBe(false);
    expect(await policy.can(user('sam', 'staff'), 'orgs:read', org('org-9'))).toBe(true);
  });

  it('limits an API key to its scopes and to what its owner holds', async () => {
    expect(await policy.can(key('carol', ['customer'], ['orders:create']), 'orders:create')).toBe(true);
    expect(await policy.can(key('carol', ['customer'], []), 'orders:create')).toBe(false);
    expect(await policy.can(key('carol', ['customer'], ['users:read']), 'users:read')).toBe(false);
    expect(await policy.can(key('carol', ['customer'], ['orders:read']), 'orders:read', order('carol'))).toBe(true);
    expect(await policy.can(key('carol', ['customer'], ['orders:read']), 'orders:read', order('dave'))).toBe(false);
    expect(await policy.can(key('sam', ['staff'], ['orders:read:own']), 'orders:read', order('dave'))).toBe(false);
    expect(await policy.can(key('sam', ['staff'], ['orders:read:own']), 'orders:read', order('sam'))).toBe(true);
    expect(await policy.can(key('bob', ['customer'], ['members:write']), 'members:write', org('org-2'))).toBe(true);
    expect(await policy.can(key('bob', ['customer'], ['members:write']), 'members:write', org('org-1'))).toBe(false);
    expect(await policy.can(key('bob', ['customer'], ['members:read']), 'members:write', org('org-2'))).toBe(false);
    expect(await policy.can(key('root', ['admin'], ['users:read']), 'users:write')).toBe(false);
  });
});

describe('permissionsOf and canDelegate', () => {
  it('lists what a user holds, and what a key holds of its scopes', async () => {
    expect(await policy.permissionsOf(user('u', 'customer', 'auditor'))).toEqual(['api_keys:write', 'audit:read', 'orders:create', 'orders:read:own']);
    expect(await policy.permissionsOf(key('u', ['customer'], ['orders:create', 'orders:read', 'users:read']))).toEqual(['orders:create', 'orders:read:own']);
    expect(await policy.permissionsOf({ kind: 'system', name: 's' })).toEqual(['*']);
    expect(await policy.permissionsOf(null)).toEqual([]);
  });

  it('lets an actor hand on what they hold, org permissions they hold in some org, and nothing more', async () => {
    expect(await policy.canDelegate(user('carol', 'customer'), 'orders:create')).toBe(true);
    expect(await policy.canDelegate(user('carol', 'customer'), 'orders:read:own')).toBe(true);
    expect(await policy.canDelegate(user('carol', 'customer'), 'orders:read')).toBe(false);
    expect(await policy.canDelegate(user('sam', 'staff'), 'orders:read:own')).toBe(true);
    expect(await policy.canDelegate(user('bob', 'customer'), 'members:write')).toBe(true);
    expect(await policy.canDelegate(user('bob', 'customer'), 'orgs:delete')).toBe(false);
    expect(await policy.canDelegate(user('root', 'admin'), '*')).toBe(true);
    expect(await policy.canDelegate(user('sam', 'staff'), '*')).toBe(false);
    expect(await policy.canDelegate(key('root', ['admin'], ['users:read']), 'users:write')).toBe(false);
    expect(await policy.canDelegate(null, 'orders:create')).toBe(false);
  });
});
