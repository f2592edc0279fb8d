import { identityRoutes } from '../../../contract/identity.js';
import { type HandlerContext, implement, type RouteImplementation } from '../../../module.js';
import { type OidcService, tokenFragmentUrl } from '../oidc.js';
import { callerOf } from './auth.js';

/**
 * `GET /v1/auth/oidc/:provider/start` (302 to the provider) and
 * `GET /v1/auth/oidc/:provider/callback` (tokens as JSON, or a 302 to the
 * `redirectTo` given at start with the tokens in the URL fragment).
 * `serviceOf` finds the OIDC service of the instance serving the request.
 */
export function createOidcRoutes(serviceOf: (ctx: HandlerContext<any>) => OidcService): RouteImplementation<any>[] {
  return [
    implement(identityRoutes.oidcStart, async (ctx) => {
      const url = await serviceOf(ctx).start(ctx.params.provider, ctx.query.redirectTo, callerOf(ctx));
      ctx.setHeader('cache-control', 'no-store');
      ctx.setHeader('location', url);
      return undefined;
    }),
    implement(identityRoutes.oidcCallback, async (ctx) => {
      const { tokens, redirectTo } = await serviceOf(ctx).callback(ctx.params.provider, ctx.query, callerOf(ctx));
      ctx.setHeader('cache-control', 'no-store');
      if (redirectTo === null) return tokens;
      // A handler that sets Location and answers nothing is a 302 (packages/server).
      ctx.setHeader('location', tokenFragmentUrl(redirectTo, tokens));
      return undefined as never;
    }),
  ];
}

/** The identity module's OIDC routes: the service is `oidc` on the `identity` services. */
export const oidcRoutes = createOidcRoutes((ctx) => ctx.kernel.service<{ oidc: OidcService }>('identity').oidc);
