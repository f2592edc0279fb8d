import { identityRoutes } from '../../../contract/identity.js';
import { type HandlerContext, implement } from '../../../module.js';
import type { ApiKeyService } from '../api-keys.js';
import { callerOf } from './auth.js';

/** The API-key service of the instance serving the request (`identity` exposes it as `apiKeys`). */
const apiKeysOf = (ctx: Pick<HandlerContext<any>, 'kernel'>) => ctx.kernel.service<{ apiKeys: ApiKeyService }>('identity').apiKeys;

export const apiKeyRoutes = [
  implement(identityRoutes.listApiKeys, (ctx) => apiKeysOf(ctx).listApiKeys(callerOf(ctx), ctx.query)),
  implement(identityRoutes.createApiKey, (ctx) => apiKeysOf(ctx).createApiKey(ctx.body, callerOf(ctx))),
  implement(identityRoutes.revokeApiKey, async (ctx) => {
    await apiKeysOf(ctx).revokeApiKey(ctx.params.id, callerOf(ctx));
  }),
];
