import { etag, expectedVersion } from '../../../concurrency/versioning.js';
import { identityRoutes } from '../../../contract/identity.js';
import { type HandlerContext, implement } from '../../../module.js';
import type { AccountService } from '../account.js';
import type { EmailFlows } from '../email-flows.js';
import { callerOf, userIdOf } from './auth.js';

/** The email flows and account services of the instance serving the request (`identity.emailFlows`, `identity.account`). */
const servicesOf = (ctx: Pick<HandlerContext<any>, 'kernel'>) => ctx.kernel.service<{ emailFlows: EmailFlows; account: AccountService }>('identity');

/** Email verification and password reset (`/v1/auth/...`). */
export const emailFlowRoutes = [
  implement(identityRoutes.verifyEmail, async (ctx) => ({ user: await servicesOf(ctx).emailFlows.verifyEmail(ctx.body.token, callerOf(ctx)) })),
  implement(identityRoutes.resendVerification, async (ctx) => {
    await servicesOf(ctx).emailFlows.resendVerification(userIdOf(ctx), callerOf(ctx));
    return { accepted: true as const };
  }),
  implement(identityRoutes.requestPasswordReset, async (ctx) => {
    await servicesOf(ctx).emailFlows.requestPasswordReset(ctx.body.email, callerOf(ctx));
    return { accepted: true as const };
  }),
  implement(identityRoutes.confirmPasswordReset, async (ctx) => {
    await servicesOf(ctx).emailFlows.confirmPasswordReset(ctx.body, callerOf(ctx));
    return { ok: true as const };
  }),
];

/** The signed-in user's account (`/v1/me...`); `GET /v1/me` is in auth.ts. */
export const meRoutes = [
  implement(identityRoutes.updateMe, async (ctx) => {
    const user = await servicesOf(ctx).account.updateProfile({ name: ctx.body.name }, callerOf(ctx), { expectedVersion: expectedVersion(ctx) });
    ctx.setHeader('etag', etag(user.version));
    return user;
  }),
  implement(identityRoutes.changePassword, async (ctx) => {
    await servicesOf(ctx).account.changePassword(ctx.body, callerOf(ctx));
    return { ok: true as const };
  }),
  implement(identityRoutes.changeEmail, async (ctx) => {
    await servicesOf(ctx).account.requestEmailChange(ctx.body, callerOf(ctx));
    return { accepted: true as const };
  }),
  implement(identityRoutes.exportMe, async (ctx) => {
    const data = await servicesOf(ctx).account.exportData(callerOf(ctx));
    ctx.setHeader('cache-control', 'no-store');
    ctx.setHeader('content-disposition', `attachment; filename="plinth-export-${userIdOf(ctx)}.json"`);
    return data;
  }),
  implement(identityRoutes.deleteMe, async (ctx) => {
    await servicesOf(ctx).account.deleteAccount(ctx.body ?? {}, callerOf(ctx));
  }),
];
