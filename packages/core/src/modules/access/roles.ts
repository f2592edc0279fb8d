import { forbidden } from '../../auth.js';
import { builtinRoles } from '../../contract/access.js';
import { updateVersioned } from '../../concurrency/versioning.js';
import { PlinthError, type FieldError } from '../../errors.js';
import type { KernelContext, PermissionDeclaration } from '../../module.js';
import { compileOnce } from '../../storage/compile-once.js';
import type { AuditService } from '../audit/index.js';
import type { Caller } from '../identity/types.js';
import { accessError } from './errors.js';
import { OWN_SUFFIX } from './permissions.js';
import type { Policy } from './policy.js';
import type { Role } from './types.js';

/** How long custom roles' permissions are trusted before they are read again (other processes may change them). */
export const ROLE_CACHE_TTL_MS = 5_000;
/** The role every new account gets. */
export const DEFAULT_ROLE = 'customer';

type BuiltinRole = (typeof builtinRoles)[number];
const isBuiltin = (name: string): name is BuiltinRole => (builtinRoles as readonly string[]).includes(name);
const EMPTY: ReadonlySet<string> = new Set();
const ALL: ReadonlySet<string> = new Set(['*']);

export interface DeclaredPermission extends PermissionDeclaration {
  /** The modules that declare it. */
  modules: string[];
}

interface RoleRow {
  name: string;
  description: string | null;
  builtin: unknown;
  created_at: string;
  version: number;
}

export interface RoleStoreDeps {
  policy: () => Policy;
  audit: () => AuditService;
}

/**
 * Roles and who holds them. Built-in roles' permissions come from the loaded
 * modules' declarations (computed once); custom roles' from `role_permissions`,
 * cached for a few seconds and dropped on every local change.
 */
export function createRoleStore(kernel: KernelContext, deps: RoleStoreDeps) {
  const db = () => kernel.db;
  const now = () => new Date(kernel.clock.now()).toISOString();

  let declaredCache: Map<string, DeclaredPermission> | undefined;
  function declared(): ReadonlyMap<string, DeclaredPermission> {
    if (declaredCache) return declaredCache;
    const map = new Map<string, DeclaredPermission>();
    for (const m of kernel.modules) {
      for (const [name, decl] of Object.entries(m.permissions ?? {})) {
        const seen = map.get(name);
        const grantedTo = [...new Set([...(seen?.grantedTo ?? []), ...(decl.grantedTo ?? [])])];
        map.set(name, { description: seen?.description ?? decl.description, grantedTo, modules: [...(seen?.modules ?? []), m.name] });
      }
    }
    return (declaredCache = map);
  }

  let builtinCache: Map<string, ReadonlySet<string>> | undefined;
  function builtinPermissions(): ReadonlyMap<string, ReadonlySet<string>> {
    if (builtinCache) return builtinCache;
    const map = new Map<string, ReadonlySet<string>>([['admin', ALL]]);
    for (const role of ['staff', 'customer'] as const) {
      map.set(role, new Set([...declared()].filter(([, d]) => d.grantedTo?.includes(role)).map(([name]) => name)));
    }
    return (builtinCache = map);
  }

  // Every caller whose cache is stale reads for itself: sharing one in-flight read
  // could make a caller inside a transaction wait on a query queued behind it.
  let custom: { map: Map<string, ReadonlySet<string>>; expiresAt: number } | undefined;
  let generation = 0;
  async function customPermissions(): Promise<ReadonlyMap<string, ReadonlySet<string>>> {
    if (custom && custom.expiresAt > kernel.clock.now()) return custom.map;
    const started = generation;
    const rows = (await db().selectFrom('role_permissions').select(['role', 'permission']).execute()) as { role: string; permission: string }[];
    const map = new Map<string, Set<string>>();
    for (const r of rows) {
      if (isBuiltin(r.role)) continue;
      let set = map.get(r.role);
      if (!set) map.set(r.role, (set = new Set()));
      set.add(r.permission);
    }
    if (started === generation) custom = { map, expiresAt: kernel.clock.now() + ROLE_CACHE_TTL_MS };
    return map;
  }
  /** Drops the cached role permissions here, and (through the shared cache) in every other process. */
  function invalidate(): Promise<void> {
    dropLocal();
    return kernel.cache.invalidate(['role']);
  }
  function dropLocal(): void {
    generation++;
    custom = undefined;
  }
  kernel.cache.onRemoteInvalidation((tags) => {
    if (!tags || tags.includes('role')) dropLocal();
  });

  async function permissionsOfRoles(roles: readonly string[]): Promise<ReadonlySet<string>> {
    const builtin = builtinPermissions();
    if (roles.length === 1 && builtin.has(roles[0]!)) return builtin.get(roles[0]!)!;
    const union = new Set<string>();
    let customs: ReadonlyMap<string, ReadonlySet<string>> | undefined;
    for (const role of roles) {
      let set = builtin.get(role);
      if (!set) set = (customs ??= await customPermissions()).get(role) ?? EMPTY;
      if (set.has('*')) return ALL;
      for (const p of set) union.add(p);
    }
    return union;
  }

  /** Known: declared by a loaded module, or the `:own` form of one. */
  function isKnownPermission(permission: string): boolean {
    const map = declared();
    if (map.has(permission)) return true;
    return permission.endsWith(OWN_SUFFIX) && map.has(permission.slice(0, -OWN_SUFFIX.length));
  }

  /** 422 for unknown permissions; 403 for permissions the caller may not hand on. */
  async function assertGrantable(caller: Caller, permissions: readonly string[], field: string): Promise<void> {
    const errors: FieldError[] = [];
    permissions.forEach((p, i) => {
      if (!isKnownPermission(p)) errors.push({ path: `${field}.${i}`, message: `unknown permission "${p}"`, code: 'unknown_permission' });
    });
    if (errors.length) throw new PlinthError('validation.failed', 'Some permissions are not declared by any loaded module', { errors });
    for (const p of permissions) {
      if (!(await deps.policy().canDelegate(caller.actor, p))) throw forbidden(`You cannot grant "${p}": you do not hold it`);
    }
  }

  async function toRole(row: RoleRow): Promise<Role> {
    const builtin = isBuiltin(row.name);
    const permissions = builtin
      ? [...builtinPermissions().get(row.name)!]
      : ((await db().selectFrom('role_permissions').select('permission').where('role', '=', row.name).execute()) as { permission: string }[]).map((r) => r.permission);
    return { name: row.name, description: row.description, builtin, permissions: permissions.sort(), version: Number(row.version) };
  }

  async function findRole(name: string): Promise<RoleRow | undefined> {
    return (await db().selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst()) as RoleRow | undefined;
  }

  async function requireCustomRole(name: string): Promise<RoleRow> {
    const row = await findRole(name);
    if (!row) throw accessError('access.role_not_found', `No role "${name}"`);
    if (isBuiltin(name)) throw accessError('access.role_builtin', `"${name}" is a built-in role: its permissions come from the modules`);
    return row;
  }

  // Read on every sign-in and refresh: compiled once.
  const rolesOfUser = compileOnce(['userId'], (v) => kernel.storage.db.selectFrom('user_roles').select('role').where('user_id', '=', v.userId).orderBy('role'));
  async function rolesOf(userId: string): Promise<string[]> {
    const rows = (await rolesOfUser.run<{ role: string }>(db(), { userId })).rows;
    return rows.map((r) => r.role);
  }

  /** Every permission a role grants, for the delegation check (`*` for admin). */
  async function permissionsOfRole(name: string): Promise<string[]> {
    const builtin = builtinPermissions().get(name);
    if (builtin) return [...builtin];
    const rows = (await db().selectFrom('role_permissions').select('permission').where('role', '=', name).execute()) as { permission: string }[];
    return rows.map((r) => r.permission);
  }

  /**
   * Replaces a user's roles, in the current transaction; answers before/after
   * and audits a change. The caller must hold every permission of each role
   * they add or remove (only an admin makes or unmakes an admin).
   */
  async function applyRoles(userId: string, roles: readonly string[], caller: Caller): Promise<{ before: string[]; after: string[]; changed: boolean }> {
    const wanted = [...new Set(roles)].sort();
    if (wanted.length) {
      const found = (await db().selectFrom('roles').select('name').where('name', 'in', wanted).execute()) as { name: string }[];
      const missing = wanted.filter((r) => !found.some((f) => f.name === r));
      if (missing.length) throw accessError('access.role_not_found', `No role ${missing.map((r) => `"${r}"`).join(', ')}`, { details: { roles: missing } });
    }
    const user = await db().selectFrom('users').select('id').where('id', '=', userId).where('status', '!=', 'deleted').executeTakeFirst();
    if (!user) throw accessError('access.user_not_found', 'No such user');
    const before = await rolesOf(userId);
    const added = wanted.filter((r) => !before.includes(r));
    const removed = before.filter((r) => !wanted.includes(r));
    if (!added.length && !removed.length) return { before, after: before, changed: false };
    if (caller.actor?.kind !== 'system') {
      const touched = new Set<string>();
      for (const role of [...added, ...removed]) for (const p of await permissionsOfRole(role)) touched.add(p);
      for (const p of touched) {
        if (!(await deps.policy().canDelegate(caller.actor, p))) throw forbidden(`You cannot grant or take away "${p}": you do not hold it`);
      }
    }
    if (removed.length) await db().deleteFrom('user_roles').where('user_id', '=', userId).where('role', 'in', removed).execute();
    if (added.length) {
      const at = now();
      await db().insertInto('user_roles').values(added.map((role) => ({ user_id: userId, role, created_at: at }))).execute();
    }
    await deps.audit().record(caller, { action: 'access.roles.changed', target: { type: 'user', id: userId }, data: { before, after: wanted } });
    return { before, after: wanted, changed: true };
  }

  return {
    declared,
    isKnownPermission,
    permissionsOfRoles,
    invalidate,
    rolesOf,
    applyRoles,

    async grantDefaultRole(userId: string): Promise<void> {
      await db()
        .insertInto('user_roles')
        .values({ user_id: userId, role: DEFAULT_ROLE, created_at: now() })
        .onConflict((oc) => oc.columns(['user_id', 'role']).doNothing())
        .execute();
    },

    async listRoles(): Promise<Role[]> {
      const rows = (await db().selectFrom('roles').selectAll().orderBy('name').execute()) as RoleRow[];
      const order = (r: RoleRow) => (isBuiltin(r.name) ? builtinRoles.indexOf(r.name) : builtinRoles.length);
      rows.sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
      return Promise.all(rows.map(toRole));
    },

    async getRole(name: string): Promise<Role> {
      const row = await findRole(name);
      if (!row) throw accessError('access.role_not_found', `No role "${name}"`);
      return toRole(row);
    },

    async createRole(input: { name: string; description?: string | undefined; permissions: readonly string[] }, caller: Caller): Promise<Role> {
      if (isBuiltin(input.name)) throw accessError('access.role_builtin', `"${input.name}" is a built-in role`);
      const permissions = [...new Set(input.permissions)].sort();
      await assertGrantable(caller, permissions, 'permissions');
      const role = await kernel.transaction(async () => {
        if (await findRole(input.name)) throw accessError('access.role_exists', `A role "${input.name}" already exists`);
        const row: RoleRow = { name: input.name, description: input.description ?? null, builtin: false, created_at: now(), version: 1 };
        try {
          await db().insertInto('roles').values(row).execute();
        } catch (error) {
          if ((error as { code?: string }).code === 'storage.conflict') throw accessError('access.role_exists', `A role "${input.name}" already exists`);
          throw error;
        }
        if (permissions.length) await db().insertInto('role_permissions').values(permissions.map((permission) => ({ role: row.name, permission }))).execute();
        await deps.audit().record(caller, { action: 'access.role.created', target: { type: 'role', id: row.name }, data: { permissions } });
        return { name: row.name, description: row.description, builtin: false, permissions, version: 1 };
      });
      await invalidate();
      return role;
    },

    async updateRole(
      name: string,
      input: { description?: string | undefined; permissions: readonly string[] },
      caller: Caller,
      options: { expectedVersion?: number | undefined } = {},
    ): Promise<Role> {
      const permissions = [...new Set(input.permissions)].sort();
      await requireCustomRole(name);
      await assertGrantable(caller, permissions, 'permissions');
      const role = await kernel.transaction(async () => {
        const row = await requireCustomRole(name);
        const before = (await toRole(row)).permissions;
        const description = input.description === undefined ? row.description : input.description;
        // First statement of the change: a stale version changes nothing (and, on PostgreSQL, the row stays locked to the end).
        const version = await updateVersioned(db(), { table: 'roles', idColumn: 'name', id: name, expected: options.expectedVersion, set: { description }, resource: 'role' });
        await db().deleteFrom('role_permissions').where('role', '=', name).execute();
        if (permissions.length) await db().insertInto('role_permissions').values(permissions.map((permission) => ({ role: name, permission }))).execute();
        await deps.audit().record(caller, { action: 'access.role.updated', target: { type: 'role', id: name }, data: { before, after: permissions } });
        return { name, description, builtin: false, permissions, version };
      });
      await invalidate();
      return role;
    },

    /** Deletes a custom role; its holders lose it. */
    async deleteRole(name: string, caller: Caller): Promise<void> {
      await kernel.transaction(async () => {
        const row = await requireCustomRole(name);
        const counted = (await db().selectFrom('user_roles').select((eb) => eb.fn.countAll().as('n')).where('role', '=', row.name).executeTakeFirst()) as { n: unknown };
        const holders = Number(counted.n);
        await db().deleteFrom('roles').where('name', '=', name).execute();
        await deps.audit().record(caller, { action: 'access.role.deleted', target: { type: 'role', id: name }, data: { holders } });
      });
      await invalidate();
    },
  };
}

export type RoleStore = ReturnType<typeof createRoleStore>;
