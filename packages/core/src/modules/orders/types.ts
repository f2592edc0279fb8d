import type { z } from 'zod';
import type { Money } from '../../contract/money.js';
import type { orderSchema, OrderStatus } from '../../contract/orders.js';
import type { KernelContext } from '../../module.js';

export type Order = z.infer<typeof orderSchema>;
export type { OrderStatus };

/**
 * The state machine. `pending_payment` orders hold reserved stock; `paid`
 * commits it; `cancelled` and `expired` release it. Anything not listed is
 * 409 `orders.invalid_transition`.
 */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending_payment: ['paid', 'cancelled', 'expired'],
  paid: ['fulfilled', 'partially_refunded', 'refunded'],
  partially_refunded: ['partially_refunded', 'refunded', 'fulfilled'],
  fulfilled: ['partially_refunded', 'refunded'],
  cancelled: [],
  expired: [],
  refunded: [],
};

/** An order line as the pricing hook sees it (amounts in minor units of the order's currency). */
export interface DraftItem {
  sku: string;
  productId: string;
  name: string;
  quantity: number;
  unitPrice: number;
  lineTotal: number;
}

/** An order about to be written: its stock is reserved, its lines priced from the catalog. */
export interface PricingDraft {
  orderId: string;
  userId: string | null;
  currency: string;
  items: readonly DraftItem[];
  /** Sum of the line totals. */
  subtotal: number;
}

/** What a pricing hook adds; both default to 0. The total is subtotal − discount + tax. */
export interface PricingResult {
  /** Minor units, 0 ≤ discount ≤ subtotal. */
  discount?: number;
  /** Minor units, ≥ 0. */
  tax?: number;
}

/**
 * The taxes/discounts extension point. Runs inside the order's transaction,
 * after stock is reserved: throwing rolls everything back (no order, no
 * reservation, no event); throw a `PlinthError` to answer with its code.
 */
export type PricingHook = (draft: PricingDraft, kernel: KernelContext) => PricingResult | Promise<PricingResult>;

export interface OrdersModuleOptions {
  /** Taxes and discounts; default none (total = subtotal). */
  pricing?: PricingHook;
}

/** What the payments module reads before charging. */
export interface Payable {
  id: string;
  userId: string | null;
  status: OrderStatus;
  total: Money;
  refunded: Money;
  version: number;
  expiresAt: string | null;
  /** The payment that paid the order, once `paid`. */
  paymentId: string | null;
}

export interface OrderQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
  status?: OrderStatus | undefined;
  /** Staff only: one customer's orders. */
  userId?: string | undefined;
  /** Placed at or after this time (RFC 3339). */
  since?: string | undefined;
  /** Placed before this time (RFC 3339). */
  until?: string | undefined;
}

/** `GET /v1/orders/summary`: orders placed and revenue taken in a window. */
export interface OrderSummary {
  since: string;
  until: string;
  orders: number;
  byStatus: Record<string, number>;
  revenue: Money[];
  paidOrders: number;
}

export interface OrderRow {
  id: string;
  user_id: string | null;
  status: OrderStatus;
  currency: string;
  subtotal: number;
  discount: number;
  tax: number;
  total: number;
  refunded: number;
  payment_id: string | null;
  version: number;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
  paid_at: string | null;
  fulfilled_at: string | null;
  cancelled_at: string | null;
}

export interface ItemRow {
  order_id: string;
  line: number;
  sku: string;
  product_id: string;
  name: string;
  quantity: number;
  unit_price: number;
  line_total: number;
}
