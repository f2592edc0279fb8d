import { identityRoutes, type User } from '../../../contract/identity.js';
import { etag } from '../../../concurrency/versioning.js';
import { PlinthError } from '../../../errors.js';
import { type PreparedJson, prepareJson } from '../../../prepared-json.js';
import { type HandlerContext, implement } from '../../../module.js';
import type { IdentityService } from '../service.js';
import type { Caller } from '../types.js';

/** Who is asking, for audit: from a handler's context. */
export function callerOf(ctx: Pick<HandlerContext<any>, 'actor' | 'ip' | 'headers' | 'requestId'>): Caller {
  return { actor: ctx.actor, ip: ctx.ip, userAgent: ctx.headers['user-agent'], requestId: ctx.requestId };
}

/** The identity service of the instance serving the request. */
export const identityOf = (ctx: Pick<HandlerContext<any>, 'kernel'>) => ctx.kernel.service<IdentityService>('identity');

/** The signed-in user's id (user or API-key actors; routes with `auth: required` always have an actor). */
export function userIdOf(ctx: Pick<HandlerContext<any>, 'actor'>): string {
  const actor = ctx.actor;
  if (!actor || actor.kind === 'system') throw new PlinthError('auth.unauthenticated', 'Sign in first', { status: 401 });
  return actor.userId;
}

export const authRoutes = [
  implement(identityRoutes.signUp, (ctx) => identityOf(ctx).signUp(ctx.body, callerOf(ctx))),
  implement(identityRoutes.signIn, (ctx) => identityOf(ctx).signIn(ctx.body, callerOf(ctx))),
  implement(identityRoutes.refresh, (ctx) => identityOf(ctx).refresh(ctx.body.refreshToken, callerOf(ctx))),
  implement(identityRoutes.signOut, async (ctx) => {
    await identityOf(ctx).signOut(ctx.actor, callerOf(ctx));
  }),
  implement(identityRoutes.listSessions, async (ctx) => ({ data: await identityOf(ctx).listSessions(ctx.actor!), nextCursor: null })),
  implement(identityRoutes.revokeSession, async (ctx) => {
    await identityOf(ctx).revokeSession(ctx.actor!, ctx.params.id, callerOf(ctx));
  }),
  implement(identityRoutes.revokeOtherSessions, async (ctx) => ({ revoked: await identityOf(ctx).revokeOtherSessions(ctx.actor!, callerOf(ctx)) })),
  implement(identityRoutes.getMe, (ctx) => {
    const id = userIdOf(ctx);
    // Read on every page load of an app: served from the read cache until any write (or, on PostgreSQL,
    // `cache.maxAgeMs`), as the answer itself: checked against the contract and serialized once. A hit is
    // answered synchronously (no promise: the server answers it on its direct path).
    const key = `identity:me:${id}`;
    const hit = ctx.kernel.cache.peek<CachedMe | null>(key);
    if (hit !== undefined) return meAnswer(ctx, hit);
    return ctx.kernel.cache
      .get(key, async (): Promise<CachedMe | null> => {
        const row = await identityOf(ctx).findUserById(id);
        if (!row) return null;
        const user = await identityOf(ctx).toUser(row);
        return { etag: etag(user.version), answer: prepareJson(identityRoutes.getMe, user) };
      })
      .then((me) => meAnswer(ctx, me));
  }),
];

interface CachedMe {
  etag: string;
  answer: PreparedJson<User>;
}

function meAnswer(ctx: Pick<HandlerContext<any>, 'setHeader'>, me: CachedMe | null): PreparedJson<User> {
  if (!me) throw new PlinthError('auth.invalid_token', 'This account no longer exists', { status: 401 });
  ctx.setHeader('etag', me.etag);
  return me.answer;
}
