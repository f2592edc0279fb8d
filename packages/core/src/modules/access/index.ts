import { defineModule } from '../../module.js';
import { accessMigrations } from './migrations.js';
import { accessPermissions } from './permissions.js';
import { accessRouteImplementations } from './routes.js';
import { type AccessService, createAccessService } from './service.js';

/**
 * Roles and permissions, organizations and memberships, and the one policy
 * point (`can`) every route and service of every module goes through.
 */
export const accessModule = defineModule({
  name: 'access',
  dependsOn: ['identity', 'audit'],
  migrations: accessMigrations,
  permissions: accessPermissions,
  routes: accessRouteImplementations,
  services: createAccessService,
  auth: (kernel) => {
    const service = () => kernel.service<AccessService>('access');
    return { can: (actor, permission, resource) => service().can(actor, permission, resource) };
  },
});

export type { AccessService } from './service.js';
export type { UserQuery, UserChanges } from './admin-users.js';
export type { DeclaredPermission } from './roles.js';
export type { Role, Org, Member, OrgRole, Page, PageOptions } from './types.js';
export { accessPermissions, orgRolePermissions } from './permissions.js';
export { grants } from './policy.js';
export { ROLE_CACHE_TTL_MS, DEFAULT_ROLE } from './roles.js';
export { MEMBERSHIP_CACHE_TTL_MS } from './memberships.js';
