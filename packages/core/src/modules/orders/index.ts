import { z } from 'zod';
import { moneySchema } from '../../contract/money.js';
import { defineModule, type PermissionDeclaration } from '../../module.js';
import { ordersMigrations } from './migrations.js';
import { ordersRouteImplementations } from './routes.js';
import { createOrdersService, ORDER_EXPIRE_JOB, ORDER_EXPIRY_SWEEP_JOB, type OrdersService } from './service.js';
import type { OrdersModuleOptions } from './types.js';

/** `:own` forms hold only on the holder's own orders. */
export const ordersPermissions = {
  'orders:create': { description: 'Place orders', grantedTo: ['customer', 'staff'] },
  'orders:read': { description: 'Read every order', grantedTo: ['staff'] },
  'orders:read:own': { description: 'Read my own orders', grantedTo: ['customer'] },
  'orders:cancel': { description: 'Cancel any unpaid order (audited)', grantedTo: ['staff'] },
  'orders:cancel:own': { description: 'Cancel my own unpaid orders', grantedTo: ['customer'] },
  'orders:fulfil': { description: 'Mark paid orders fulfilled (audited)', grantedTo: ['staff'] },
} as const satisfies Record<string, PermissionDeclaration>;

const released = z.array(z.object({ sku: z.string(), quantity: z.number().int() }));
const userId = z.string().nullable();

export const ordersEvents = {
  'order.created': z.object({ id: z.string(), userId, total: moneySchema, items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })), expiresAt: z.string() }),
  /** `items`: what was sold (line totals in the order's currency, before order-level discounts and taxes), with each product's category when paid. */
  'order.paid': z.object({
    id: z.string(),
    userId,
    paymentId: z.string(),
    total: moneySchema,
    items: z.array(z.object({ sku: z.string(), productId: z.string(), categoryId: z.string().nullable(), quantity: z.number().int(), lineTotal: z.number().int() })),
  }),
  'order.cancelled': z.object({ id: z.string(), userId, released }),
  'order.expired': z.object({ id: z.string(), userId, released }),
  'order.fulfilled': z.object({ id: z.string(), userId }),
  'order.refunded': z.object({
    id: z.string(),
    userId,
    amount: moneySchema,
    refunded: moneySchema,
    status: z.enum(['refunded', 'partially_refunded']),
    restocked: z.boolean(),
  }),
};

/**
 * The orders module, with options: `createOrdersModule({ pricing })` adds taxes
 * and discounts. Swap it for the built-in one:
 * `builtins: builtinModules.map((m) => (m.name === 'orders' ? createOrdersModule({ pricing }) : m))`.
 */
export function createOrdersModule(options: OrdersModuleOptions = {}) {
  return defineModule({
    name: 'orders',
    dependsOn: ['identity', 'access', 'audit', 'catalog', 'inventory'],
    migrations: ordersMigrations,
    permissions: ordersPermissions,
    events: ordersEvents,
    routes: ordersRouteImplementations,
    services: (kernel) => createOrdersService(kernel, options),
    jobs: {
      // Enqueued with each order for its deadline; a paid or cancelled order is left alone.
      [ORDER_EXPIRE_JOB]: {
        payload: z.object({ orderId: z.string().min(1) }),
        handler: async ({ payload, kernel, log }) => {
          if (await kernel.service<OrdersService>('orders').expireOrder(payload.orderId)) log.info({ orderId: payload.orderId }, 'unpaid order expired');
        },
      },
      // Once a minute across all workers: orders without a job of their own (placed before it existed, or whose job was cancelled).
      [ORDER_EXPIRY_SWEEP_JOB]: {
        cron: '* * * * *',
        maxAttempts: 1,
        handler: async ({ kernel, log }) => {
          const expired = await kernel.service<OrdersService>('orders').expireDueOrders();
          if (expired > 0) log.info({ expired }, 'unpaid orders expired by the sweep');
        },
      },
    },
  });
}

/** Orders with the default pricing (total = subtotal). */
export const ordersModule = createOrdersModule();

export type { OrdersService } from './service.js';
export type { Order, OrderStatus, OrderQuery, Payable, PricingHook, PricingDraft, PricingResult, DraftItem, OrdersModuleOptions } from './types.js';
export { ORDER_TRANSITIONS } from './types.js';
