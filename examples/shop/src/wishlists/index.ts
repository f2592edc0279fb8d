import { defineModule, implement, type PermissionDeclaration } from '@plinth/core';
import { z } from 'zod';
import { wishlistRoutes } from './contract.js';
import { wishlistMigrations } from './migrations.js';
import { createWishlistService, type WishlistService } from './service.js';

const wishlists = (kernel: { service<S>(name: string): S }) => kernel.service<WishlistService>('wishlists');
const caller = (ctx: { actor: import('@plinth/core').Actor | null; ip: string; requestId: string; headers: Record<string, unknown> }) => ({
  actor: ctx.actor,
  ip: ctx.ip,
  requestId: ctx.requestId,
  userAgent: typeof ctx.headers['user-agent'] === 'string' ? ctx.headers['user-agent'] : undefined,
});

/**
 * Wishlists: a customer wishes for a SKU; when it is out of stock and comes
 * back (an inventory adjustment), they get a notice in the app and by mail.
 */
export const wishlistsModule = defineModule({
  name: 'wishlists',
  dependsOn: ['identity', 'access', 'catalog', 'inventory', 'audit'],
  migrations: wishlistMigrations,
  permissions: {
    'wishlists:use': { description: 'Keep a wishlist and read its notices', grantedTo: ['customer', 'staff'] },
  } satisfies Record<string, PermissionDeclaration>,
  events: {
    'wishlists.wished': z.object({ wishId: z.string(), userId: z.string(), sku: z.string(), available: z.number().int() }),
    'wishlists.back_in_stock': z.object({ wishId: z.string(), userId: z.string(), sku: z.string(), available: z.number().int() }),
  },
  routes: [
    implement(wishlistRoutes.listWishes, async (ctx) => ({ data: await wishlists(ctx.kernel).list(caller(ctx)) })),
    implement(wishlistRoutes.addWish, (ctx) => wishlists(ctx.kernel).add(ctx.body, caller(ctx))),
    implement(wishlistRoutes.removeWish, async (ctx) => {
      await wishlists(ctx.kernel).remove(ctx.params.id, caller(ctx));
      return undefined; // 204
    }),
    implement(wishlistRoutes.listWishNotices, async (ctx) => ({ data: await wishlists(ctx.kernel).notices(caller(ctx)) })),
  ],
  // Every committed stock adjustment becomes one `wishlists.back-in-stock` job (after commit, at least once).
  subscribers: { 'inventory.adjusted': 'wishlists.back-in-stock' },
  jobs: {
    'wishlists.back-in-stock': {
      payload: z.object({ type: z.literal('inventory.adjusted'), payload: z.object({ sku: z.string() }) }),
      handler: async ({ payload, kernel, log }) => {
        const made = await wishlists(kernel).notifyBackInStock(payload.payload.sku);
        if (made > 0) log.info({ sku: payload.payload.sku, notices: made }, 'back-in-stock notices');
      },
    },
    'wishlists.mail-notice': {
      payload: z.object({ noticeId: z.string() }),
      maxAttempts: 8,
      handler: ({ payload, kernel }) => wishlists(kernel).mailNotice(payload.noticeId),
    },
  },
  services: createWishlistService,
});

export { wishlistRoutes } from './contract.js';
export type { WishlistService } from './service.js';
