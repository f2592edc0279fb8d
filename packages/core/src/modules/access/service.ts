import { accessError } from './errors.js';
import type { Actor, ResourceRef } from '../../auth.js';
import type { User } from '../../contract/identity.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import type { Caller, IdentityCore, SessionView } from '../identity/types.js';
import { createAdminUserService, type UserChanges, type UserQuery } from './admin-users.js';
import { createMembershipCache } from './memberships.js';
import { createOrgService } from './orgs.js';
import { createPolicy } from './policy.js';
import { createRoleStore, type DeclaredPermission } from './roles.js';
import type { Member, Org, OrgRole, Page, PageOptions, Role } from './types.js';

/** The access module's services: `kernel.service<AccessService>('access')`. */
export interface AccessService {
  // The policy
  /** The one policy point; see `createPolicy` for the rules. */
  can(actor: Actor | null, permission: string, resource?: ResourceRef): Promise<boolean>;
  /** What the actor holds everywhere (`*` for admins and the system). */
  permissionsOf(actor: Actor | null): Promise<string[]>;
  /** May the actor hand `permission` on (to an API key, a role)? */
  canDelegate(actor: Actor | null, permission: string): Promise<boolean>;
  /** False only for an API key whose scopes do not cover `permission`. */
  scopeAllows(actor: Actor | null, permission: string, resource?: ResourceRef): boolean;
  /** Every permission the loaded modules declare. */
  declaredPermissions(): ReadonlyMap<string, DeclaredPermission>;
  /** Declared by a loaded module, or the `:own` form of one. */
  isKnownPermission(permission: string): boolean;

  // Users' roles
  rolesOf(userId: string): Promise<string[]>;
  /** Replaces a user's roles; audited `access.roles.changed` with before/after. */
  setRoles(userId: string, roles: readonly string[], caller: Caller): Promise<{ before: string[]; after: string[] }>;
  /** Gives a new account the `customer` role (in the caller's transaction; idempotent). */
  grantDefaultRole(userId: string): Promise<void>;

  // Roles
  listRoles(caller: Caller): Promise<Role[]>;
  getRole(name: string, caller: Caller): Promise<Role>;
  createRole(input: { name: string; description?: string | undefined; permissions: readonly string[] }, caller: Caller): Promise<Role>;
  /** With `expectedVersion` (If-Match or `version`), a stale version is 409 `resource.version_conflict` and changes nothing. */
  updateRole(name: string, input: { description?: string | undefined; permissions: readonly string[] }, caller: Caller, options?: { expectedVersion?: number | undefined }): Promise<Role>;
  deleteRole(name: string, caller: Caller): Promise<void>;

  // Organizations
  listOrgs(actor: Actor | null, page?: PageOptions): Promise<Page<Org>>;
  createOrg(input: { name: string; slug: string; ownerId?: string | undefined }, caller: Caller): Promise<Org>;
  getOrg(actor: Actor | null, id: string): Promise<Org>;
  updateOrg(id: string, input: { name: string }, caller: Caller): Promise<Org>;
  deleteOrg(id: string, caller: Caller): Promise<void>;
  listMembers(actor: Actor | null, orgId: string, page?: PageOptions): Promise<Page<Member>>;
  addMember(orgId: string, input: { email: string; role: OrgRole }, caller: Caller): Promise<Member>;
  updateMember(orgId: string, userId: string, input: { role: OrgRole }, caller: Caller): Promise<Member>;
  removeMember(orgId: string, userId: string, caller: Caller): Promise<void>;
  orgRoleOf(orgId: string, userId: string): Promise<OrgRole | null>;

  // Admin operations on accounts
  listUsers(query: UserQuery, caller: Caller): Promise<Page<User>>;
  getUser(id: string, caller: Caller): Promise<User>;
  updateUser(id: string, changes: UserChanges, caller: Caller): Promise<User>;
  revokeUserSessions(id: string, caller: Caller): Promise<number>;
  /** A user's active sessions, newest first (`users:read`). */
  listUserSessions(id: string, caller: Caller): Promise<SessionView[]>;
  /**
   * Called when an account is deleted, inside its transaction: drops the user's roles and
   * memberships, and the organizations they were alone in. Refuses (409 `access.last_owner`)
   * while they are the last owner of an organization that has other members.
   */
  forgetUser(userId: string): Promise<void>;
}

export function createAccessService(kernel: KernelContext): AccessService {
  const audit = () => kernel.service<AuditService>('audit');
  const identity = () => kernel.service<IdentityCore>('identity');
  const memberships = createMembershipCache(kernel);
  const roles = createRoleStore(kernel, { policy: () => policy, audit });
  const policy = createPolicy({
    permissionsOfRoles: roles.permissionsOfRoles,
    orgRole: memberships.orgRole,
    orgRolesOf: memberships.orgRolesOf,
  });
  const orgs = createOrgService(kernel, { policy, memberships, identity, audit });
  const users = createAdminUserService(kernel, { roles, identity, audit });

  return {
    can: policy.can,
    permissionsOf: policy.permissionsOf,
    canDelegate: policy.canDelegate,
    scopeAllows: policy.scopeAllows,
    declaredPermissions: roles.declared,
    isKnownPermission: roles.isKnownPermission,

    rolesOf: roles.rolesOf,
    async setRoles(userId, wanted, caller) {
      await kernel.authorize(caller.actor, 'users:write');
      return kernel.transaction(async () => {
        const result = await roles.applyRoles(userId, wanted, caller);
        if (result.changed) {
          await kernel.db
            .updateTable('users')
            .set((eb) => ({ version: eb('version', '+', 1), updated_at: new Date(kernel.clock.now()).toISOString() }))
            .where('id', '=', userId)
            .execute();
        }
        return { before: result.before, after: result.after };
      });
    },
    grantDefaultRole: roles.grantDefaultRole,

    async listRoles(caller) {
      await kernel.authorize(caller.actor, 'roles:read');
      return roles.listRoles();
    },
    async getRole(name, caller) {
      await kernel.authorize(caller.actor, 'roles:read');
      return roles.getRole(name);
    },
    async createRole(input, caller) {
      await kernel.authorize(caller.actor, 'roles:write');
      return roles.createRole(input, caller);
    },
    async updateRole(name, input, caller, options) {
      await kernel.authorize(caller.actor, 'roles:write');
      return roles.updateRole(name, input, caller, options);
    },
    async deleteRole(name, caller) {
      await kernel.authorize(caller.actor, 'roles:write');
      return roles.deleteRole(name, caller);
    },

    listOrgs: orgs.listOrgs,
    createOrg: orgs.createOrg,
    getOrg: orgs.getOrg,
    updateOrg: orgs.updateOrg,
    deleteOrg: orgs.deleteOrg,
    listMembers: orgs.listMembers,
    addMember: orgs.addMember,
    updateMember: orgs.updateMember,
    removeMember: orgs.removeMember,
    orgRoleOf: memberships.orgRole,

    listUsers: users.listUsers,
    getUser: users.getUser,
    updateUser: users.updateUser,
    revokeUserSessions: users.revokeSessions,
    listUserSessions: users.listSessions,

    async forgetUser(userId) {
      await kernel.transaction(async (tx) => {
        const owned = await tx.db.selectFrom('memberships').select('org_id').where('user_id', '=', userId).where('role', '=', 'owner').execute();
        for (const { org_id: orgId } of owned) {
          const others = await tx.db.selectFrom('memberships').select(['user_id', 'role']).where('org_id', '=', orgId).where('user_id', '!=', userId).execute();
          if (others.length === 0) {
            await tx.db.deleteFrom('organizations').where('id', '=', orgId).execute();
          } else if (!others.some((m) => m.role === 'owner')) {
            throw accessError('access.last_owner', 'Make another member owner of your organization before deleting the account', { details: { orgId } });
          }
        }
        await tx.db.deleteFrom('memberships').where('user_id', '=', userId).execute();
        await tx.db.deleteFrom('user_roles').where('user_id', '=', userId).execute();
      });
      memberships.invalidate();
      roles.invalidate();
    },
  };
}
