import { z } from 'zod';
import { listOf, pageQuery } from './identity.js';
import { moneySchema, versionSchema } from './money.js';
import { defineRoute } from './route.js';

export const ordersErrors = {
  'orders.not_found': 404,
  'orders.insufficient_stock': 409,
  'orders.invalid_transition': 409,
  'orders.version_conflict': 409,
  'orders.unknown_sku': 422,
  'orders.mixed_currencies': 422,
  'orders.amount_mismatch': 422,
  'orders.refund_exceeds_paid': 422,
  'orders.invalid_pricing': 500,
} as const;
export type OrdersErrorCode = keyof typeof ordersErrors;

export const orderStatuses = ['pending_payment', 'paid', 'fulfilled', 'cancelled', 'expired', 'refunded', 'partially_refunded'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/** Most distinct SKUs in one order, and most units of one SKU. */
export const MAX_ORDER_ITEMS = 100;
export const MAX_ITEM_QUANTITY = 1000;

const id = z.string().min(1).max(64);

export const orderItemSchema = z.object({
  sku: z.string(),
  productId: z.string(),
  /** Product name (and variant) when ordered. */
  name: z.string(),
  quantity: z.number().int(),
  unitPrice: moneySchema,
  total: moneySchema,
});

export const orderSchema = z.object({
  id: z.string(),
  userId: z.string().nullable(),
  status: z.enum(orderStatuses),
  items: z.array(orderItemSchema),
  subtotal: moneySchema,
  discount: moneySchema,
  tax: moneySchema,
  /** subtotal − discount + tax: what the customer pays. */
  total: moneySchema,
  refunded: moneySchema,
  paymentId: z.string().nullable(),
  version: z.number().int(),
  /** When an unpaid order expires and its stock is released. */
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  paidAt: z.string().nullable(),
  fulfilledAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
});

const time = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 time' });

export const orderSummarySchema = z.object({
  since: z.string(),
  until: z.string(),
  /** Orders created in the window. */
  orders: z.number().int(),
  byStatus: z.record(z.string(), z.number().int()),
  /** Orders paid in the window: what they paid minus what was refunded on them, per currency. */
  revenue: z.array(moneySchema),
  paidOrders: z.number().int(),
});

/** Optional: `{ version }` (or `If-Match`) makes the change fail with 409 when the order changed since it was read. */
const versionBody = z.object({ version: versionSchema.optional() }).strict().optional();

export const ordersRoutes = {
  listOrders: defineRoute({
    method: 'GET', path: '/v1/orders', operationId: 'listOrders', summary: 'My orders (every order for staff), newest first.', tags: ['orders'],
    query: pageQuery.extend({ status: z.enum(orderStatuses).optional(), userId: id.optional(), since: time.optional(), until: time.optional() }), response: listOf(orderSchema),
  }),
  ordersSummary: defineRoute({
    method: 'GET', path: '/v1/orders/summary', operationId: 'ordersSummary', tags: ['orders'], permission: 'orders:read',
    summary: 'Orders placed and revenue taken in a time window (default: today, UTC): counts by status, paid revenue net of refunds per currency.',
    query: z.object({ since: time.optional(), until: time.optional() }),
    response: orderSummarySchema,
  }),
  createOrder: defineRoute({
    method: 'POST', path: '/v1/orders', operationId: 'createOrder', summary: 'Order SKUs: prices come from the catalog, stock is reserved until payment or expiry.', tags: ['orders'], status: 201,
    permission: 'orders:create',
    // The order is written in one transaction with nothing outside the database: its key commits with it.
    idempotency: 'transaction',
    // Strict: a client-sent price (or any unknown field) is a 422, never silently used or ignored.
    body: z
      .object({
        items: z
          .array(z.object({ sku: z.string().min(1).max(64), quantity: z.number().int().min(1).max(MAX_ITEM_QUANTITY) }).strict())
          .min(1)
          .max(MAX_ORDER_ITEMS),
      })
      .strict(),
    response: orderSchema,
  }),
  getOrder: defineRoute({
    method: 'GET', path: '/v1/orders/:id', operationId: 'getOrder', summary: 'One order (customers: their own).', tags: ['orders'], params: z.object({ id }), response: orderSchema,
  }),
  cancelOrder: defineRoute({
    method: 'POST', path: '/v1/orders/:id/cancel', operationId: 'cancelOrder', summary: 'Cancel an unpaid order and release its stock.', tags: ['orders'],
    params: z.object({ id }), body: versionBody, response: orderSchema,
  }),
  fulfilOrder: defineRoute({
    method: 'POST', path: '/v1/orders/:id/fulfil', operationId: 'fulfilOrder', summary: 'Mark a paid order fulfilled (shipped).', tags: ['orders'], permission: 'orders:fulfil',
    params: z.object({ id }), body: versionBody, response: orderSchema,
  }),
} as const;
