/**
 * What one event adds to the rollups: pure, so the incremental path and the
 * rebuild count exactly the same way. Every contribution is an addition, so the
 * order events are applied in does not change the result.
 */

/** Outbox events the rollups are fed by. */
export const ANALYTICS_EVENTS = [
  'order.created',
  'order.paid',
  'order.cancelled',
  'order.expired',
  'order.fulfilled',
  'order.refunded',
  'payment.succeeded',
  'payment.failed',
  'user.signed_up',
  'inventory.low_stock',
] as const;

/** Metric names in `analytics_rollups.metric`. */
export const METRICS = {
  ordersCreated: 'orders.created',
  ordersPaid: 'orders.paid',
  ordersFulfilled: 'orders.fulfilled',
  ordersCancelled: 'orders.cancelled',
  ordersExpired: 'orders.expired',
  ordersRefunded: 'orders.refunded',
  ordersPartiallyRefunded: 'orders.partially_refunded',
  /** dim: currency. */
  salesOrders: 'sales.orders',
  salesGross: 'sales.gross',
  salesRefunds: 'sales.refunds',
  /** dim: product id. */
  productUnits: 'product.units',
  /** dim: `<currency>:<product id>`. */
  productRevenue: 'product.revenue',
  /** dim: category id ('' for none). */
  categoryUnits: 'category.units',
  signups: 'users.signups',
  paymentsSucceeded: 'payments.succeeded',
  paymentsFailed: 'payments.failed',
  /** dim: SKU. */
  lowStock: 'inventory.low_stock',
} as const;

/** An event as the dispatcher hands it to subscribers (and the rebuild reads it from the outbox). */
export interface AnalyticsEvent {
  id: string;
  type: string;
  payload: unknown;
  /** When the event was written, in its transaction (RFC 3339). */
  createdAt: string;
}

export interface Contribution {
  metric: string;
  dim: string;
  value: number;
}

export interface EventFacts {
  contributions: Contribution[];
  /** The user who did something (active that day), if any. */
  userId: string | null;
}

type Money = { amount: number; currency: string };
type Any = Record<string, any>;

const count = (metric: string, dim = ''): Contribution => ({ metric, dim, value: 1 });

export function factsOf(event: AnalyticsEvent): EventFacts {
  const p = (event.payload ?? {}) as Any;
  const userId = typeof p.userId === 'string' ? p.userId : null;
  const out: Contribution[] = [];
  switch (event.type) {
    case 'order.created':
      out.push(count(METRICS.ordersCreated));
      break;
    case 'order.paid': {
      const total = p.total as Money;
      out.push(count(METRICS.ordersPaid), count(METRICS.salesOrders, total.currency), { metric: METRICS.salesGross, dim: total.currency, value: total.amount });
      for (const item of (p.items ?? []) as Any[]) {
        out.push({ metric: METRICS.productUnits, dim: item.productId, value: item.quantity });
        out.push({ metric: METRICS.productRevenue, dim: `${total.currency}:${item.productId}`, value: item.lineTotal });
        out.push({ metric: METRICS.categoryUnits, dim: item.categoryId ?? '', value: item.quantity });
      }
      break;
    }
    case 'order.cancelled':
      out.push(count(METRICS.ordersCancelled));
      break;
    case 'order.expired':
      out.push(count(METRICS.ordersExpired));
      break;
    case 'order.fulfilled':
      out.push(count(METRICS.ordersFulfilled));
      break;
    case 'order.refunded': {
      const amount = p.amount as Money;
      out.push({ metric: METRICS.salesRefunds, dim: amount.currency, value: amount.amount });
      out.push(count(p.status === 'refunded' ? METRICS.ordersRefunded : METRICS.ordersPartiallyRefunded));
      break;
    }
    case 'payment.succeeded':
      out.push(count(METRICS.paymentsSucceeded));
      break;
    case 'payment.failed':
      out.push(count(METRICS.paymentsFailed));
      break;
    case 'user.signed_up':
      out.push(count(METRICS.signups));
      break;
    case 'inventory.low_stock':
      out.push(count(METRICS.lowStock, String(p.sku)));
      break;
    default:
      break;
  }
  // Active: the user did it themselves (staff cancel, fulfil and refund on their behalf; orders expire by themselves).
  const active = event.type === 'order.created' || event.type === 'order.paid' || event.type === 'user.signed_up' ? userId : null;
  return { contributions: out, userId: active };
}
