import { etag, expectedVersion } from '../../concurrency/versioning.js';
import { accessRoutes } from '../../contract/access.js';
import { type HandlerContext, implement } from '../../module.js';
import type { RouteDef } from '../../contract/route.js';
import type { Caller } from '../identity/types.js';
import type { AccessService } from './service.js';

const access = (ctx: HandlerContext<RouteDef>) => ctx.kernel.service<AccessService>('access');

/** Who asks and from where, as audit events record it. */
export function callerOf(ctx: HandlerContext<RouteDef>): Caller {
  return { actor: ctx.actor, ip: ctx.ip, userAgent: ctx.headers['user-agent'], requestId: ctx.requestId };
}

/** The access module's HTTP routes: parse, call the service, answer. */
export const accessRouteImplementations = [
  implement(accessRoutes.listRoles, async (ctx) => ({ data: await access(ctx).listRoles(callerOf(ctx)) })),
  implement(accessRoutes.createRole, async (ctx) => {
    const role = await access(ctx).createRole(ctx.body, callerOf(ctx));
    ctx.setHeader('etag', etag(role.version));
    return role;
  }),
  implement(accessRoutes.updateRole, async (ctx) => {
    const { description, permissions } = ctx.body;
    const role = await access(ctx).updateRole(ctx.params.name, { description, permissions }, callerOf(ctx), { expectedVersion: expectedVersion(ctx) });
    ctx.setHeader('etag', etag(role.version));
    return role;
  }),

  implement(accessRoutes.listOrgs, (ctx) => access(ctx).listOrgs(ctx.actor, ctx.query)),
  implement(accessRoutes.createOrg, (ctx) => access(ctx).createOrg(ctx.body, callerOf(ctx))),
  implement(accessRoutes.getOrg, (ctx) => access(ctx).getOrg(ctx.actor, ctx.params.id)),
  implement(accessRoutes.listMembers, (ctx) => access(ctx).listMembers(ctx.actor, ctx.params.id, ctx.query)),
  implement(accessRoutes.addMember, (ctx) => access(ctx).addMember(ctx.params.id, ctx.body, callerOf(ctx))),
  implement(accessRoutes.updateMember, (ctx) => access(ctx).updateMember(ctx.params.id, ctx.params.userId, ctx.body, callerOf(ctx))),
  implement(accessRoutes.removeMember, async (ctx) => {
    await access(ctx).removeMember(ctx.params.id, ctx.params.userId, callerOf(ctx));
  }),

  implement(accessRoutes.adminListUsers, (ctx) => access(ctx).listUsers(ctx.query, callerOf(ctx))),
  implement(accessRoutes.adminGetUser, (ctx) => access(ctx).getUser(ctx.params.id, callerOf(ctx))),
  implement(accessRoutes.adminUpdateUser, (ctx) => access(ctx).updateUser(ctx.params.id, ctx.body, callerOf(ctx))),
  implement(accessRoutes.adminListUserSessions, async (ctx) => ({ data: await access(ctx).listUserSessions(ctx.params.id, callerOf(ctx)), nextCursor: null })),
  implement(accessRoutes.adminRevokeSessions, async (ctx) => ({ revoked: await access(ctx).revokeUserSessions(ctx.params.id, callerOf(ctx)) })),
];
