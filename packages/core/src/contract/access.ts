import { z } from 'zod';
import { listOf, pageQuery, permissionSchema, sessionSchema, userSchema } from './identity.js';
import { defineRoute } from './route.js';

export const accessErrors = {
  'access.role_not_found': 404,
  'access.role_exists': 409,
  'access.role_builtin': 409,
  'access.org_not_found': 404,
  'access.org_slug_taken': 409,
  'access.member_not_found': 404,
  'access.member_exists': 409,
  'access.last_owner': 409,
  'access.user_not_found': 404,
} as const;
export type AccessErrorCode = keyof typeof accessErrors;

/** Built-in roles; custom roles are added with `POST /v1/roles`. */
export const builtinRoles = ['admin', 'staff', 'customer'] as const;
export const orgRoles = ['owner', 'admin', 'member'] as const;

const roleName = z.string().regex(/^[a-z][a-z0-9_-]{1,31}$/, 'must be 2-32 lower-case letters, digits, - or _');
const id = z.string().min(1).max(64);

export const roleSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  builtin: z.boolean(),
  permissions: z.array(z.string()),
  /** Incremented by every change (`ETag`, `If-Match`). */
  version: z.number().int(),
});
export const orgSchema = z.object({ id: z.string(), name: z.string(), slug: z.string(), createdAt: z.string(), role: z.enum(orgRoles).nullable() });
export const memberSchema = z.object({ userId: z.string(), email: z.string(), name: z.string().nullable(), role: z.enum(orgRoles), createdAt: z.string() });

export const accessRoutes = {
  listRoles: defineRoute({ method: 'GET', path: '/v1/roles', operationId: 'listRoles', summary: 'Roles and their permissions.', tags: ['access'], permission: 'roles:read', response: z.object({ data: z.array(roleSchema) }) }),
  createRole: defineRoute({
    method: 'POST', path: '/v1/roles', operationId: 'createRole', summary: 'Create a custom role.', tags: ['access'], status: 201, permission: 'roles:write',
    body: z.object({ name: roleName, description: z.string().max(200).optional(), permissions: z.array(permissionSchema).max(200) }).strict(),
    response: roleSchema,
  }),
  updateRole: defineRoute({
    method: 'PUT', path: '/v1/roles/:name', operationId: 'updateRole', summary: "Replace a custom role's permissions (optimistic concurrency: If-Match or version).", tags: ['access'], permission: 'roles:write',
    versioned: true,
    params: z.object({ name: roleName }),
    body: z
      .object({
        description: z.string().max(200).optional(),
        permissions: z.array(permissionSchema).max(200),
        /** The version the change was made from (or `If-Match: "<version>"`); a stale one is 409. */
        version: z.number().int().min(1).optional(),
      })
      .strict(),
    response: roleSchema,
  }),
  listOrgs: defineRoute({ method: 'GET', path: '/v1/orgs', operationId: 'listOrgs', summary: 'Organizations I belong to (all of them for staff).', tags: ['orgs'], query: pageQuery, response: listOf(orgSchema) }),
  createOrg: defineRoute({
    method: 'POST', path: '/v1/orgs', operationId: 'createOrg', summary: 'Create an organization; I become its owner.', tags: ['orgs'], status: 201, permission: 'orgs:create',
    body: z.object({ name: z.string().trim().min(1).max(100), slug: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'must be lower-case letters, digits and -') }).strict(),
    response: orgSchema,
  }),
  getOrg: defineRoute({ method: 'GET', path: '/v1/orgs/:id', operationId: 'getOrg', summary: 'One organization.', tags: ['orgs'], params: z.object({ id }), response: orgSchema }),
  listMembers: defineRoute({ method: 'GET', path: '/v1/orgs/:id/members', operationId: 'listMembers', summary: 'Members of an organization.', tags: ['orgs'], params: z.object({ id }), query: pageQuery, response: listOf(memberSchema) }),
  addMember: defineRoute({
    method: 'POST', path: '/v1/orgs/:id/members', operationId: 'addMember', summary: 'Add a user (by email) to an organization.', tags: ['orgs'], status: 201,
    params: z.object({ id }),
    body: z.object({ email: z.string().trim().max(254), role: z.enum(orgRoles).default('member') }).strict(),
    response: memberSchema,
  }),
  updateMember: defineRoute({
    method: 'PATCH', path: '/v1/orgs/:id/members/:userId', operationId: 'updateMember', summary: "Change a member's org role.", tags: ['orgs'],
    params: z.object({ id, userId: id }), body: z.object({ role: z.enum(orgRoles) }).strict(), response: memberSchema,
  }),
  removeMember: defineRoute({
    method: 'DELETE', path: '/v1/orgs/:id/members/:userId', operationId: 'removeMember', summary: 'Remove a member (or leave).', tags: ['orgs'], status: 204,
    params: z.object({ id, userId: id }), response: z.unknown(),
  }),
  adminListUsers: defineRoute({
    method: 'GET', path: '/v1/admin/users', operationId: 'adminListUsers', summary: 'List and search users.', tags: ['admin'], permission: 'users:read',
    query: pageQuery.extend({ q: z.string().trim().max(254).optional(), status: z.enum(['active', 'disabled']).optional(), role: z.string().max(32).optional() }),
    response: listOf(userSchema),
  }),
  adminGetUser: defineRoute({
    method: 'GET', path: '/v1/admin/users/:id', operationId: 'adminGetUser', summary: 'One user.', tags: ['admin'], permission: 'users:read',
    params: z.object({ id }), response: userSchema,
  }),
  adminUpdateUser: defineRoute({
    method: 'PATCH', path: '/v1/admin/users/:id', operationId: 'adminUpdateUser', summary: 'Disable/enable a user, set their roles.', tags: ['admin'], permission: 'users:write',
    params: z.object({ id }),
    body: z.object({ status: z.enum(['active', 'disabled']).optional(), roles: z.array(roleName).max(20).optional() }).strict(),
    response: userSchema,
  }),
  adminListUserSessions: defineRoute({
    method: 'GET', path: '/v1/admin/users/:id/sessions', operationId: 'adminListUserSessions', summary: "A user's active sessions, newest first.", tags: ['admin'], permission: 'users:read',
    params: z.object({ id }), response: z.object({ data: z.array(sessionSchema.omit({ current: true })), nextCursor: z.null() }),
  }),
  adminRevokeSessions: defineRoute({
    method: 'POST', path: '/v1/admin/users/:id/revoke-sessions', operationId: 'adminRevokeSessions', summary: "Revoke all of a user's sessions.", tags: ['admin'], permission: 'users:write',
    params: z.object({ id }), response: z.object({ revoked: z.number().int() }),
  }),
} as const;

export { userSchema };
