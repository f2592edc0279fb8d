import type { OrgRole } from './types.js';
import type { PermissionDeclaration } from '../../module.js';

/**
 * The permissions the access module checks (`admin` holds all of them).
 * `orgs:*` and `members:*` are also granted inside one organization by the
 * caller's org role (see `orgRolePermissions`); holding them here means "in
 * every organization".
 */
export const accessPermissions = {
  'roles:read': { description: 'List roles and their permissions', grantedTo: ['staff'] },
  'roles:write': { description: 'Create and change custom roles' },
  'users:read': { description: 'List, search and read any user', grantedTo: ['staff'] },
  'users:write': { description: "Disable and enable users, assign roles, revoke a user's sessions" },
  'orgs:create': { description: 'Create an organization (the creator becomes its owner)', grantedTo: ['customer', 'staff'] },
  'orgs:read': { description: 'Read any organization (members read their own through their org role)', grantedTo: ['staff'] },
  'orgs:write': { description: 'Rename any organization and manage its owners (org owners: their own)' },
  'orgs:delete': { description: 'Delete any organization (org owners: their own)' },
  'members:read': { description: 'Read the members of any organization (org members: their own)', grantedTo: ['staff'] },
  'members:write': { description: 'Add, change and remove members of any organization (org admins and owners: their own)' },
  'api_keys:read': { description: 'List my own API keys', grantedTo: ['customer', 'staff'] },
  'api_keys:write': { description: 'Create and revoke my own API keys', grantedTo: ['customer', 'staff'] },
} as const satisfies Record<string, PermissionDeclaration>;

/** What an org role allows inside its organization (each role includes the one below it). */
export const orgRolePermissions: Readonly<Record<OrgRole, ReadonlySet<string>>> = (() => {
  const member = ['orgs:read', 'members:read'];
  const admin = [...member, 'members:write'];
  const owner = [...admin, 'orgs:write', 'orgs:delete'];
  return { member: new Set(member), admin: new Set(admin), owner: new Set(owner) };
})();

/** Every permission some org role grants: these may be delegated to an API key by an org member. */
export const orgScopedPermissions: ReadonlySet<string> = orgRolePermissions.owner;

/** Suffix of a permission that holds only on the holder's own resources (`orders:read:own`). */
export const OWN_SUFFIX = ':own';
