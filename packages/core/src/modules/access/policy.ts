import type { Actor, ResourceRef } from '../../auth.js';
import { orgRolePermissions, orgScopedPermissions, OWN_SUFFIX } from './permissions.js';
import type { OrgRole } from './types.js';

/** Where the policy reads its facts from (both cached by their owners). */
export interface PolicySources {
  /** The union of the roles' permissions; `*` for `admin`. Unknown roles grant nothing. */
  permissionsOfRoles(roles: readonly string[]): ReadonlySet<string> | Promise<ReadonlySet<string>>;
  /** The user's role in the organization, or null when they are not a member. */
  orgRole(orgId: string, userId: string): Promise<OrgRole | null>;
  /** The distinct roles the user holds across their organizations. */
  orgRolesOf(userId: string): Promise<OrgRole[]>;
}

export interface Policy {
  /** The one policy point: may `actor` do `permission` (on `resource`)? */
  can(actor: Actor | null, permission: string, resource?: ResourceRef): Promise<boolean>;
  /** The permissions the actor holds everywhere (an API key: its scopes its owner holds). */
  permissionsOf(actor: Actor | null): Promise<string[]>;
  /**
   * May the actor hand `permission` on (an API key scope, a custom role's permission)?
   * Yes when they hold it everywhere, or when it is org-scoped and they hold it in
   * some organization (the delegate is still checked against each org at use).
   */
  canDelegate(actor: Actor | null, permission: string): Promise<boolean>;
  /** False only for an API key whose scopes do not cover `permission` (for lists filtered by membership). */
  scopeAllows(actor: Actor | null, permission: string, resource?: ResourceRef): boolean;
}

/**
 * Does a permission set grant `permission`? `*` grants all; `p` grants `p`
 * and `p:own`; `p:own` grants `p` only when the resource is the actor's own.
 */
export function grants(set: ReadonlySet<string>, permission: string, own: boolean): boolean {
  if (set.has('*') || set.has(permission)) return true;
  if (permission.endsWith(OWN_SUFFIX)) return set.has(permission.slice(0, -OWN_SUFFIX.length));
  return own && set.has(permission + OWN_SUFFIX);
}

const isOwn = (userId: string, resource: ResourceRef | undefined): boolean =>
  resource?.ownerId !== undefined && resource.ownerId !== null && resource.ownerId === userId;

/**
 * The rules:
 * - the system actor may do anything; nobody (`null`) may do anything;
 * - a user: the union of their roles' permissions (ownership via `:own`), plus,
 *   on a resource of an organization, what their org role grants there;
 * - an API key: what its owner may do, and only within its scopes.
 */
export function createPolicy(sources: PolicySources): Policy {
  async function userMay(userId: string, roles: readonly string[], permission: string, resource: ResourceRef | undefined): Promise<boolean> {
    if (grants(await sources.permissionsOfRoles(roles), permission, isOwn(userId, resource))) return true;
    const orgId = resource?.orgId;
    if (!orgId || !orgScopedPermissions.has(permission)) return false;
    const role = await sources.orgRole(orgId, userId);
    return role !== null && orgRolePermissions[role].has(permission);
  }

  // Actors are built once per request; their scope sets are built once per actor.
  const scopeSets = new WeakMap<readonly string[], ReadonlySet<string>>();
  function scopeAllows(actor: Actor | null, permission: string, resource?: ResourceRef): boolean {
    if (actor?.kind !== 'api_key') return true;
    let scopes = scopeSets.get(actor.scopes);
    if (!scopes) scopeSets.set(actor.scopes, (scopes = new Set(actor.scopes)));
    return grants(scopes, permission, isOwn(actor.userId, resource));
  }

  return {
    scopeAllows,
    async can(actor, permission, resource) {
      if (!actor) return false;
      if (actor.kind === 'system') return true;
      if (!scopeAllows(actor, permission, resource)) return false;
      return userMay(actor.userId, actor.roles, permission, resource);
    },

    async permissionsOf(actor) {
      if (!actor) return [];
      if (actor.kind === 'system') return ['*'];
      const held = await sources.permissionsOfRoles(actor.roles);
      if (actor.kind === 'user') return [...held].sort();
      // A key holds the scopes its owner holds; a `p` scope of an owner holding only `p:own` is `p:own`.
      const out = new Set<string>();
      for (const scope of actor.scopes) {
        if (grants(held, scope, false)) out.add(scope);
        else if (!scope.endsWith(OWN_SUFFIX) && held.has(scope + OWN_SUFFIX)) out.add(scope + OWN_SUFFIX);
      }
      return [...out].sort();
    },

    async canDelegate(actor, permission) {
      if (!actor) return false;
      if (actor.kind === 'system') return true;
      if (!scopeAllows(actor, permission)) return false;
      const held = await sources.permissionsOfRoles(actor.roles);
      if (grants(held, permission, false)) return true;
      // `p:own` held: `p` may not be delegated, but `p:own` may (the literal check above covers it).
      if (!orgScopedPermissions.has(permission)) return false;
      return (await sources.orgRolesOf(actor.userId)).some((role) => orgRolePermissions[role].has(permission));
    },
  };
}

