/**
 * The wishlists module's contract: zod schemas and routes, declared once.
 * The server validates with them, `/openapi.json` lists them, and the client
 * (`createClient({ routes: wishlistRoutes })`) is typed from them. This file
 * imports zod and the contract helpers only, so a browser bundle can take it.
 */
import { defineRoute } from '@plinth/core/contract';
import { z } from 'zod';

/** Error codes of this module and their HTTP statuses. */
export const wishlistErrors = {
  'wishlists.sku_not_found': 404,
  'wishlists.item_not_found': 404,
  'wishlists.already_wished': 409,
  'wishlists.full': 422,
} as const;
export type WishlistErrorCode = keyof typeof wishlistErrors;

/** At most this many wishes per user. */
export const MAX_WISHES = 100;

export const wishSchema = z.object({
  id: z.string(),
  sku: z.string(),
  note: z.string().nullable(),
  /** Units available when last looked at (when wished, or when the notice went out). */
  available: z.number().int(),
  /** When the back-in-stock notice was sent; `null` while waiting (or when it was in stock already). */
  notifiedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type Wish = z.infer<typeof wishSchema>;

export const noticeSchema = z.object({
  id: z.string(),
  wishId: z.string(),
  sku: z.string(),
  message: z.string(),
  createdAt: z.string(),
});
export type Notice = z.infer<typeof noticeSchema>;

const sku = z.string().trim().min(1).max(64);

export const wishlistRoutes = {
  listWishes: defineRoute({
    method: 'GET', path: '/v1/wishlist', operationId: 'listWishes', summary: "The caller's wishlist, newest first.", tags: ['wishlists'],
    permission: 'wishlists:use', response: z.object({ data: z.array(wishSchema) }),
  }),
  addWish: defineRoute({
    method: 'POST', path: '/v1/wishlist/items', operationId: 'addWish', summary: 'Wish for a SKU; when it is out of stock, a notice follows when it is back.', tags: ['wishlists'],
    permission: 'wishlists:use', status: 201,
    body: z.object({ sku, note: z.string().trim().max(200).optional() }).strict(),
    response: wishSchema,
  }),
  removeWish: defineRoute({
    method: 'DELETE', path: '/v1/wishlist/items/:id', operationId: 'removeWish', summary: 'Remove a wish.', tags: ['wishlists'],
    permission: 'wishlists:use', status: 204, params: z.object({ id: z.string().min(1).max(64) }), response: z.undefined(),
  }),
  listWishNotices: defineRoute({
    method: 'GET', path: '/v1/wishlist/notices', operationId: 'listWishNotices', summary: 'Back-in-stock notices for the caller, newest first.', tags: ['wishlists'],
    permission: 'wishlists:use', response: z.object({ data: z.array(noticeSchema) }),
  }),
} as const;
