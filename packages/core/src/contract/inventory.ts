import { z } from 'zod';
import { listOf, pageQuery } from './identity.js';
import { defineRoute } from './route.js';

export const inventoryErrors = {
  'inventory.sku_not_found': 404,
  'inventory.insufficient_stock': 409,
  'inventory.invalid_delta': 422,
} as const;
export type InventoryErrorCode = keyof typeof inventoryErrors;

/** Why stock changed: goods received (+), a count corrected (±), goods damaged (−), goods returned (+, e.g. a refund that restocks). */
export const adjustmentReasons = ['receipt', 'correction', 'damage', 'return'] as const;

const sku = z.string().min(1).max(64);

export const stockSchema = z.object({
  sku: z.string(),
  onHand: z.number().int(),
  reserved: z.number().int(),
  /** On hand minus reserved: what can still be ordered. */
  available: z.number().int(),
  /** `inventory.low_stock` is emitted when available falls below this (0: never). */
  lowStockThreshold: z.number().int(),
  updatedAt: z.string().nullable(),
});

export const adjustmentSchema = z.object({
  id: z.string(),
  sku: z.string(),
  delta: z.number().int(),
  reason: z.enum(adjustmentReasons),
  note: z.string().nullable(),
  /** The user, key or system that made it. */
  actorId: z.string().nullable(),
  createdAt: z.string(),
});

export const inventoryRoutes = {
  getStock: defineRoute({
    method: 'GET', path: '/v1/inventory/:sku', operationId: 'getStock', summary: 'Stock of a SKU: on hand, reserved, available.', tags: ['inventory'], permission: 'inventory:read',
    params: z.object({ sku }), response: stockSchema,
  }),
  updateStock: defineRoute({
    method: 'PATCH', path: '/v1/inventory/:sku', operationId: 'updateStock', summary: "Set a SKU's low-stock threshold.", tags: ['inventory'], permission: 'inventory:adjust',
    params: z.object({ sku }), body: z.object({ lowStockThreshold: z.number().int().min(0).max(1_000_000_000) }).strict(), response: stockSchema,
  }),
  listAdjustments: defineRoute({
    method: 'GET', path: '/v1/inventory/:sku/adjustments', operationId: 'listAdjustments', summary: 'Adjustments of a SKU, newest first.', tags: ['inventory'], permission: 'inventory:read',
    params: z.object({ sku }), query: pageQuery, response: listOf(adjustmentSchema),
  }),
  createAdjustment: defineRoute({
    method: 'POST', path: '/v1/inventory/:sku/adjustments', operationId: 'createAdjustment', summary: 'Change stock on hand, with a reason (recorded and audited).', tags: ['inventory'], status: 201,
    permission: 'inventory:adjust', params: z.object({ sku }),
    body: z
      .object({
        delta: z.number().int().min(-1_000_000_000).max(1_000_000_000).refine((d) => d !== 0, 'must not be 0'),
        reason: z.enum(adjustmentReasons),
        note: z.string().trim().max(500).optional(),
      })
      .strict(),
    response: adjustmentSchema.extend({ stock: stockSchema }),
  }),
} as const;
