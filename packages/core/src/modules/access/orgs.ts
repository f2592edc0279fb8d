import { type Actor, forbidden, type ResourceRef, unauthenticated } from '../../auth.js';
import { normalizeEmail } from '../../contract/identity.js';
import { PlinthError } from '../../errors.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import type { Caller, IdentityCore } from '../identity/types.js';
import { accessError } from './errors.js';
import type { MembershipCache } from './memberships.js';
import type { Policy } from './policy.js';
import { type Member, type Org, type OrgRole, type Page, type PageOptions, pageLimit, toPage } from './types.js';

interface OrgRow {
  id: string;
  name: string;
  slug: string;
  created_by: string | null;
  created_at: string;
}
interface MemberRow {
  user_id: string;
  email: string;
  name: string | null;
  role: OrgRole;
  created_at: string;
}

export interface OrgServiceDeps {
  policy: Policy;
  memberships: MembershipCache;
  identity: () => Pick<IdentityCore, 'findUserByEmail'>;
  audit: () => AuditService;
}

const orgRef = (orgId: string): ResourceRef => ({ type: 'org', id: orgId, orgId });
const userIdOf = (actor: Actor): string | null => (actor.kind === 'system' ? null : actor.userId);

function requireActor(actor: Actor | null): Actor {
  if (!actor) throw unauthenticated();
  return actor;
}

/**
 * Organizations and memberships. Someone who may not read an organization is
 * told it does not exist (404); someone who may read it but not change it is
 * refused (403). Only owners (or holders of `orgs:write` everywhere) make,
 * unmake or remove owners, and the last owner stays.
 */
export function createOrgService(kernel: KernelContext, deps: OrgServiceDeps) {
  const { policy, memberships } = deps;
  const db = () => kernel.db;
  const now = () => new Date(kernel.clock.now()).toISOString();
  const orgNotFound = () => accessError('access.org_not_found', 'No such organization');

  const toOrg = (row: OrgRow, role: OrgRole | null): Org => ({ id: row.id, name: row.name, slug: row.slug, createdAt: row.created_at, role });
  const toMember = (row: MemberRow): Member => ({ userId: row.user_id, email: row.email, name: row.name, role: row.role, createdAt: row.created_at });

  async function findOrg(id: string): Promise<OrgRow | undefined> {
    return (await db().selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst()) as OrgRow | undefined;
  }

  /** The org, or 404 when it does not exist or the actor may not see it. */
  async function visibleOrg(actor: Actor, id: string): Promise<OrgRow> {
    const org = await findOrg(id);
    if (!org || !(await policy.can(actor, 'orgs:read', orgRef(id)))) throw orgNotFound();
    return org;
  }

  async function requireOrgPermission(actor: Actor, orgId: string, permission: string): Promise<void> {
    if (!(await policy.can(actor, permission, orgRef(orgId)))) throw forbidden();
  }

  /** Serializes membership changes of one org (PostgreSQL row lock; SQLite's transaction holds the write lock). */
  async function lockOrg(orgId: string): Promise<void> {
    const row = await kernel.storage.forUpdate(db().selectFrom('organizations').select('id').where('id', '=', orgId)).executeTakeFirst();
    if (!row) throw orgNotFound();
  }

  async function member(orgId: string, userId: string): Promise<MemberRow | undefined> {
    return (await db()
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.user_id', 'u.email', 'u.name', 'm.role', 'm.created_at'])
      .where('m.org_id', '=', orgId)
      .where('m.user_id', '=', userId)
      .executeTakeFirst()) as MemberRow | undefined;
  }

  async function ownerCount(orgId: string): Promise<number> {
    const row = (await db()
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('org_id', '=', orgId)
      .where('role', '=', 'owner')
      .executeTakeFirst()) as { n: unknown };
    return Number(row.n);
  }

  async function myRole(actor: Actor, orgId: string): Promise<OrgRole | null> {
    const userId = userIdOf(actor);
    return userId ? memberships.orgRole(orgId, userId) : null;
  }

  return {
    /** Organizations the actor belongs to; every organization for holders of `orgs:read`. */
    async listOrgs(actorOrNull: Actor | null, page: PageOptions = {}): Promise<Page<Org>> {
      const actor = requireActor(actorOrNull);
      const limit = pageLimit(page.limit);
      const userId = userIdOf(actor);
      let q;
      if (await policy.can(actor, 'orgs:read')) {
        q = db()
          .selectFrom('organizations as o')
          .leftJoin('memberships as m', (join) => join.onRef('m.org_id', '=', 'o.id').on('m.user_id', '=', userId ?? ''))
          .select(['o.id', 'o.name', 'o.slug', 'o.created_by', 'o.created_at', 'm.role']);
      } else {
        // A key without `orgs:read` sees no organization, as it would get 404 for each.
        if (!userId || !policy.scopeAllows(actor, 'orgs:read')) return { data: [], nextCursor: null };
        q = db()
          .selectFrom('memberships as m')
          .innerJoin('organizations as o', 'o.id', 'm.org_id')
          .select(['o.id', 'o.name', 'o.slug', 'o.created_by', 'o.created_at', 'm.role'])
          .where('m.user_id', '=', userId);
      }
      if (page.cursor) q = q.where('o.id', '>', page.cursor);
      const rows = (await q.orderBy('o.id').limit(limit + 1).execute()) as (OrgRow & { role: OrgRole | null })[];
      return toPage(rows, limit, (r) => r.id, (r) => toOrg(r, r.role ?? null));
    },

    /** Creates an organization; its creator (or, for the system actor, `ownerId`) becomes its owner. */
    async createOrg(input: { name: string; slug: string; ownerId?: string | undefined }, caller: Caller): Promise<Org> {
      const actor = requireActor(caller.actor);
      await kernel.authorize(actor, 'orgs:create');
      const ownerId = userIdOf(actor) ?? input.ownerId;
      if (!ownerId) {
        throw new PlinthError('validation.failed', 'An organization needs an owner', { errors: [{ path: 'ownerId', message: 'required for the system actor', code: 'required' }] });
      }
      try {
        const org = await kernel.transaction(async () => {
          if (await db().selectFrom('organizations').select('id').where('slug', '=', input.slug).executeTakeFirst()) {
            throw accessError('access.org_slug_taken', `The slug "${input.slug}" is taken`);
          }
          const row: OrgRow = { id: kernel.ids.next(), name: input.name, slug: input.slug, created_by: ownerId, created_at: now() };
          await db().insertInto('organizations').values(row).execute();
          await db().insertInto('memberships').values({ org_id: row.id, user_id: ownerId, role: 'owner', created_at: row.created_at }).execute();
          await deps.audit().record(caller, { action: 'access.org.created', target: { type: 'org', id: row.id }, data: { slug: row.slug, ownerId } });
          return toOrg(row, 'owner');
        });
        await memberships.invalidate(org.id, ownerId);
        return org;
      } catch (error) {
        if ((error as { code?: string }).code === 'storage.conflict') throw accessError('access.org_slug_taken', `The slug "${input.slug}" is taken`);
        throw error;
      }
    },

    async getOrg(actorOrNull: Actor | null, id: string): Promise<Org> {
      const actor = requireActor(actorOrNull);
      const org = await visibleOrg(actor, id);
      return toOrg(org, await myRole(actor, id));
    },

    /** Renames an organization (`orgs:write` there). */
    async updateOrg(id: string, input: { name: string }, caller: Caller): Promise<Org> {
      const actor = requireActor(caller.actor);
      await visibleOrg(actor, id);
      await requireOrgPermission(actor, id, 'orgs:write');
      const org = await kernel.transaction(async () => {
        await lockOrg(id);
        const before = (await findOrg(id))!;
        await db().updateTable('organizations').set({ name: input.name }).where('id', '=', id).execute();
        await deps.audit().record(caller, { action: 'access.org.updated', target: { type: 'org', id }, data: { before: { name: before.name }, after: { name: input.name } } });
        return { ...before, name: input.name };
      });
      return toOrg(org, await myRole(actor, id));
    },

    /** Deletes an organization and its memberships (`orgs:delete` there). */
    async deleteOrg(id: string, caller: Caller): Promise<void> {
      const actor = requireActor(caller.actor);
      await visibleOrg(actor, id);
      await requireOrgPermission(actor, id, 'orgs:delete');
      await kernel.transaction(async () => {
        await lockOrg(id);
        await db().deleteFrom('organizations').where('id', '=', id).execute();
        await deps.audit().record(caller, { action: 'access.org.deleted', target: { type: 'org', id } });
      });
      await memberships.invalidate();
    },

    async listMembers(actorOrNull: Actor | null, orgId: string, page: PageOptions = {}): Promise<Page<Member>> {
      const actor = requireActor(actorOrNull);
      await visibleOrg(actor, orgId);
      await requireOrgPermission(actor, orgId, 'members:read');
      const limit = pageLimit(page.limit);
      let q = db()
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.user_id', 'u.email', 'u.name', 'm.role', 'm.created_at'])
        .where('m.org_id', '=', orgId);
      if (page.cursor) q = q.where('m.user_id', '>', page.cursor);
      const rows = (await q.orderBy('m.user_id').limit(limit + 1).execute()) as MemberRow[];
      return toPage(rows, limit, (r) => r.user_id, toMember);
    },

    /** Adds a user by email (`members:write` there; making an owner needs `orgs:write`). */
    async addMember(orgId: string, input: { email: string; role: OrgRole }, caller: Caller): Promise<Member> {
      const actor = requireActor(caller.actor);
      await visibleOrg(actor, orgId);
      await requireOrgPermission(actor, orgId, 'members:write');
      if (input.role === 'owner') await requireOrgPermission(actor, orgId, 'orgs:write');
      const user = await deps.identity().findUserByEmail(normalizeEmail(input.email));
      if (!user || user.status === 'deleted') throw accessError('access.user_not_found', 'No user with this email');
      const added = await kernel.transaction(async () => {
        await lockOrg(orgId);
        if (await member(orgId, user.id)) throw accessError('access.member_exists', 'This user is already a member');
        await db().insertInto('memberships').values({ org_id: orgId, user_id: user.id, role: input.role, created_at: now() }).execute();
        await deps.audit().record(caller, { action: 'access.member.added', target: { type: 'org', id: orgId }, data: { userId: user.id, role: input.role } });
        return (await member(orgId, user.id))!;
      });
      await memberships.invalidate(orgId, user.id);
      return toMember(added);
    },

    /** Changes a member's org role; owners are made and unmade by owners only, and the last owner stays. */
    async updateMember(orgId: string, userId: string, input: { role: OrgRole }, caller: Caller): Promise<Member> {
      const actor = requireActor(caller.actor);
      await visibleOrg(actor, orgId);
      await requireOrgPermission(actor, orgId, 'members:write');
      const updated = await kernel.transaction(async () => {
        await lockOrg(orgId);
        const current = await member(orgId, userId);
        if (!current) throw accessError('access.member_not_found', 'No such member');
        if (current.role === input.role) return current;
        if (current.role === 'owner' || input.role === 'owner') await requireOrgPermission(actor, orgId, 'orgs:write');
        if (current.role === 'owner' && (await ownerCount(orgId)) <= 1) throw accessError('access.last_owner', 'An organization keeps at least one owner');
        await db().updateTable('memberships').set({ role: input.role }).where('org_id', '=', orgId).where('user_id', '=', userId).execute();
        await deps.audit().record(caller, { action: 'access.member.updated', target: { type: 'org', id: orgId }, data: { userId, before: current.role, after: input.role } });
        return { ...current, role: input.role };
      });
      await memberships.invalidate(orgId, userId);
      return toMember(updated);
    },

    /** Removes a member (`members:write` there), or lets a member leave; the last owner stays. */
    async removeMember(orgId: string, userId: string, caller: Caller): Promise<void> {
      const actor = requireActor(caller.actor);
      const self = userIdOf(actor) === userId;
      await visibleOrg(actor, orgId);
      if (!self) await requireOrgPermission(actor, orgId, 'members:write');
      else if (!policy.scopeAllows(actor, 'members:write')) throw forbidden();
      await kernel.transaction(async () => {
        await lockOrg(orgId);
        const current = await member(orgId, userId);
        if (!current) throw accessError('access.member_not_found', 'No such member');
        if (current.role === 'owner') {
          if (!self) await requireOrgPermission(actor, orgId, 'orgs:write');
          if ((await ownerCount(orgId)) <= 1) throw accessError('access.last_owner', 'An organization keeps at least one owner');
        }
        await db().deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
        await deps.audit().record(caller, { action: 'access.member.removed', target: { type: 'org', id: orgId }, data: { userId, role: current.role, self } });
      });
      await memberships.invalidate(orgId, userId);
    },
  };
}

export type OrgService = ReturnType<typeof createOrgService>;
