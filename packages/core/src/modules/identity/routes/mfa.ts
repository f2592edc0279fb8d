import { identityRoutes } from '../../../contract/identity.js';
import { type HandlerContext, implement } from '../../../module.js';
import type { MfaService } from '../mfa.js';
import { callerOf } from './auth.js';

/** The MFA service of the instance serving the request (`identity` exposes it as `mfa`). */
const mfaOf = (ctx: Pick<HandlerContext<any>, 'kernel'>) => ctx.kernel.service<{ mfa: MfaService }>('identity').mfa;

/** Answers that carry secrets (tokens, the TOTP secret, recovery codes) are never cached. */
const noStore = (ctx: Pick<HandlerContext<any>, 'setHeader'>) => ctx.setHeader('cache-control', 'no-store');

export const mfaRoutes = [
  implement(identityRoutes.verifyMfa, async (ctx) => {
    noStore(ctx);
    return mfaOf(ctx).verify(ctx.body, callerOf(ctx));
  }),
  implement(identityRoutes.enrollTotp, async (ctx) => {
    noStore(ctx);
    return mfaOf(ctx).enroll(callerOf(ctx));
  }),
  implement(identityRoutes.confirmTotp, async (ctx) => {
    noStore(ctx);
    return mfaOf(ctx).confirm(ctx.body.code, callerOf(ctx));
  }),
  implement(identityRoutes.disableTotp, async (ctx) => {
    await mfaOf(ctx).disable(ctx.body.code, callerOf(ctx));
  }),
];
