import type { Actor, ResourceRef } from '../../auth.js';
import type { Money } from '../../contract/money.js';
import { isPlinthError, PlinthError } from '../../errors.js';
import type { KernelContext } from '../../module.js';
import { executeLater } from '../../storage/error-mapping.js';
import { FixedInsert } from '../../storage/fixed-insert.js';
import type { AuditService } from '../audit/index.js';
import { pageOf } from '../catalog/keyset.js';
import type { CatalogService } from '../catalog/service.js';
import type { Caller } from '../identity/types.js';
import type { InventoryService } from '../inventory/service.js';
import { ordersError, unsellable } from './errors.js';
import { createPostgresPlacement } from './place-postgres.js';
import {
  type DraftItem, type ItemRow, ORDER_TRANSITIONS, type Order, type OrderQuery, type OrderRow, type OrderSummary, type OrderStatus, type OrdersModuleOptions, type Payable,
} from './types.js';

export interface OrdersService {
  /** Prices the items from the catalog, reserves their stock and writes the order, in one transaction. */
  createOrder(input: { items: readonly { sku: string; quantity: number }[] }, caller: Caller): Promise<Order>;
  /** Customers: their own orders; holders of `orders:read`: everyone's (optionally one user's). */
  listOrders(query: OrderQuery, caller: Caller): Promise<{ data: Order[]; nextCursor: string | null }>;
  /**
   * Orders placed in `[since, until)` by status, and revenue of the orders paid in it (paid
   * minus refunded, per currency). Default window: today (UTC) until now. Needs `orders:read`.
   */
  summary(window: { since?: string | undefined; until?: string | undefined }, caller: Caller): Promise<OrderSummary>;
  /** Someone else's order is 404 to a customer: its existence does not leak. */
  getOrder(id: string, caller: Caller): Promise<Order>;
  cancelOrder(id: string, expectedVersion: number | undefined, caller: Caller): Promise<Order>;
  fulfilOrder(id: string, expectedVersion: number | undefined, caller: Caller): Promise<Order>;
  /**
   * Expires every unpaid order whose deadline is at or before `now` (default: the clock),
   * releasing its stock and emitting `order.expired`, one transaction per order.
   * Safe to run from several processes at once. Answers how many it expired.
   */
  expireDueOrders(now?: number): Promise<number>;
  /**
   * Expires one order if it is still unpaid and due at `now` (default: the clock), like
   * `expireDueOrders`: the `orders.expire` job enqueued with the order runs this at its
   * deadline. Answers whether it expired it (false: paid, cancelled, already expired or not due).
   */
  expireOrder(orderId: string, now?: number): Promise<boolean>;

  // The payments seam: no permission checks (the payments module checks its own), joins the caller's transaction.
  /** What to charge: status, total, what was refunded. 404 `orders.not_found`. */
  payable(orderId: string): Promise<Payable>;
  /**
   * `pending_payment` → `paid`: commits the reserved stock. `amount` must equal the total
   * (422 `orders.amount_mismatch`); any other status is 409 `orders.invalid_transition`
   * (e.g. an expired order: refund the payment).
   */
  markPaid(orderId: string, payment: { paymentId: string; amount: Money }): Promise<Order>;
  /**
   * Records a refund of `amount` on a paid (or fulfilled, partially refunded) order:
   * → `refunded` when everything paid is refunded, else `partially_refunded`.
   * `restock: true` puts every unit back on hand. Audited when `caller` is given.
   */
  recordRefund(orderId: string, refund: { amount: Money; restock?: boolean }, caller?: Caller): Promise<Order>;

}

/** The job that expires one order at its deadline, enqueued in the order's transaction. */
export const ORDER_EXPIRE_JOB = 'orders.expire';
/** The cron sweep: expires due orders that have no job (placed before the job existed, or its job was cancelled). */
export const ORDER_EXPIRY_SWEEP_JOB = 'orders.expiry-sweep';

const ORDER_COLUMNS = [
  'id', 'user_id', 'status', 'currency', 'subtotal', 'discount', 'tax', 'total', 'refunded', 'payment_id', 'version',
  'expires_at', 'created_at', 'updated_at', 'paid_at', 'fulfilled_at', 'cancelled_at',
] as const;
const ITEM_COLUMNS = ['order_id', 'line', 'sku', 'product_id', 'name', 'quantity', 'unit_price', 'line_total'] as const;
const EXPIRY_BATCH = 100;
// An order's rows: plain inserts compiled once per row count, not built on every order.
const ORDER_INSERT = new FixedInsert<OrderRow>('orders', ORDER_COLUMNS);
const ITEM_INSERT = new FixedInsert<ItemRow>('order_items', ITEM_COLUMNS);

const isSafeAmount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const ownerOf = (actor: Actor | null): string | null => (actor?.kind === 'user' || actor?.kind === 'api_key' ? actor.userId : null);
const refOf = (row: Pick<OrderRow, 'id' | 'user_id'>): ResourceRef => ({ type: 'order', id: row.id, ownerId: row.user_id });

export function createOrdersService(kernel: KernelContext, options: OrdersModuleOptions = {}): OrdersService {
  const db = () => kernel.db;
  const iso = (ms = kernel.clock.now()) => new Date(ms).toISOString();
  const audit = () => kernel.service<AuditService>('audit');
  const catalog = () => kernel.service<CatalogService>('catalog');
  const inventory = () => kernel.service<InventoryService>('inventory');
  const notFound = () => ordersError('orders.not_found', 'No such order');

  function toOrder(row: OrderRow, items: ItemRow[]): Order {
    const money = (amount: number): Money => ({ amount: Number(amount), currency: row.currency });
    return {
      id: row.id,
      userId: row.user_id,
      status: row.status,
      items: items
        .sort((a, b) => Number(a.line) - Number(b.line))
        .map((i) => ({ sku: i.sku, productId: i.product_id, name: i.name, quantity: Number(i.quantity), unitPrice: money(i.unit_price), total: money(i.line_total) })),
      subtotal: money(row.subtotal),
      discount: money(row.discount),
      tax: money(row.tax),
      total: money(row.total),
      refunded: money(row.refunded),
      paymentId: row.payment_id,
      version: Number(row.version),
      expiresAt: row.expires_at,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      paidAt: row.paid_at,
      fulfilledAt: row.fulfilled_at,
      cancelledAt: row.cancelled_at,
    };
  }

  async function itemsOf(ids: readonly string[]): Promise<Map<string, ItemRow[]>> {
    const out = new Map<string, ItemRow[]>();
    if (ids.length === 0) return out;
    const rows = (await db().selectFrom('order_items').select(ITEM_COLUMNS).where('order_id', 'in', ids).execute()) as ItemRow[];
    for (const r of rows) {
      let list = out.get(r.order_id);
      if (!list) out.set(r.order_id, (list = []));
      list.push(r);
    }
    return out;
  }

  async function readRow(id: string, lock = false): Promise<OrderRow | undefined> {
    const q = db().selectFrom('orders').select(ORDER_COLUMNS).where('id', '=', id);
    return (await (lock ? kernel.storage.forUpdate(q) : q).executeTakeFirst()) as OrderRow | undefined;
  }

  async function load(id: string): Promise<Order> {
    const row = await readRow(id);
    if (!row) throw notFound();
    return toOrder(row, (await itemsOf([id])).get(id) ?? []);
  }

  /** The order, if the caller may read it; 404 otherwise (customers never learn that others' orders exist). */
  async function visible(id: string, actor: Actor | null, lock = false): Promise<OrderRow> {
    if (!(await kernel.can(actor, 'orders:read:own'))) {
      await kernel.authorize(actor, 'orders:read'); // 401 / 403: the caller may read no order at all
    }
    const row = await readRow(id, lock);
    if (!row || !(await kernel.can(actor, 'orders:read', refOf(row)))) throw notFound();
    return row;
  }

  function assertTransition(row: OrderRow, to: OrderStatus): void {
    if (!ORDER_TRANSITIONS[row.status].includes(to)) {
      throw ordersError('orders.invalid_transition', `An order that is ${row.status} cannot become ${to}`, { details: { status: row.status, to } });
    }
  }

  /** Moves the order on if it is still at the version read; the caller holds its row (lock or SQLite's writer). */
  async function moveTo(row: OrderRow, to: OrderStatus, set: Record<string, unknown>): Promise<OrderRow> {
    assertTransition(row, to);
    const at = iso();
    const result = await db()
      .updateTable('orders')
      .set((eb) => ({ ...set, status: to, updated_at: at, version: eb('version', '+', 1) }))
      .where('id', '=', row.id)
      .where('version', '=', row.version)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw ordersError('orders.version_conflict', 'The order changed meanwhile; read it again');
    return { ...row, ...(set as Partial<OrderRow>), status: to, updated_at: at, version: Number(row.version) + 1 };
  }

  function checkVersion(row: OrderRow, expected: number | undefined): void {
    if (expected !== undefined && expected !== Number(row.version)) {
      throw ordersError('orders.version_conflict', 'The order changed since you read it; read it again', { details: { version: Number(row.version) } });
    }
  }

  async function orderWithItems(row: OrderRow): Promise<Order> {
    return toOrder(row, (await itemsOf([row.id])).get(row.id) ?? []);
  }

  /** Expires one order if it is still unpaid and due at `due`, in one transaction. */
  function expire(id: string, due: string): Promise<boolean> {
    return kernel.transaction(async () => {
      // The claim is the conditional update: a payment, a cancel or another expiry that got there first wins.
      const claimed = await db()
        .updateTable('orders')
        .set((eb) => ({ status: 'expired', expires_at: null, updated_at: iso(), version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('status', '=', 'pending_payment')
        .where('expires_at', '<=', due)
        .returning(['user_id'])
        .executeTakeFirst();
      if (!claimed) return false;
      const released = await inventory().release(id);
      await kernel.emit({ type: 'order.expired', aggregate: { type: 'order', id }, payload: { id, userId: (claimed as { user_id: string | null }).user_id, released } });
      return true;
    });
  }

  // PostgreSQL: one database call per order (see place-postgres.ts); a pricing hook (JavaScript,
  // between the reservation and the writes) keeps the statement-by-statement path below.
  const placeInDatabase = kernel.storage.dialect === 'postgres' && !options.pricing ? createPostgresPlacement(kernel, toOrder, ORDER_EXPIRE_JOB) : undefined;

  const service: OrdersService = {
    async createOrder(input, caller) {
      await kernel.authorize(caller.actor, 'orders:create');
      // Lines of one SKU are merged; SKUs are handled in one order (also the lock order).
      const quantities = new Map<string, number>();
      for (const item of input.items) quantities.set(item.sku, (quantities.get(item.sku) ?? 0) + item.quantity);
      const skus = [...quantities.keys()].sort();
      const userId = ownerOf(caller.actor);
      if (placeInDatabase) return placeInDatabase({ skus, quantities, userId });
      const order = await kernel.transaction(async () => {
        const found = await catalog().sellable(skus);
        const refused = unsellable(skus, found);
        if (refused) throw refused;
        const id = kernel.ids.next();
        const createdAt = kernel.clock.now();
        const expiresAt = iso(createdAt + kernel.config.orders.expiryMinutes * 60_000);
        try {
          await inventory().reserve(id, skus.map((sku) => ({ sku, quantity: quantities.get(sku)! })), expiresAt);
        } catch (error) {
          if (isPlinthError(error) && error.code === 'inventory.insufficient_stock') {
            throw ordersError('orders.insufficient_stock', error.message, { details: error.details });
          }
          throw error;
        }
        const items: DraftItem[] = skus.map((sku) => {
          const s = found.get(sku)!;
          const quantity = quantities.get(sku)!;
          return { sku, productId: s.productId, name: s.name, quantity, unitPrice: s.unitPrice, lineTotal: s.unitPrice * quantity };
        });
        const currency = found.get(skus[0]!)!.currency;
        const subtotal = items.reduce((sum, i) => sum + i.lineTotal, 0);
        let discount = 0;
        let tax = 0;
        if (options.pricing) {
          const priced = await options.pricing({ orderId: id, userId, currency, items, subtotal }, kernel);
          discount = priced?.discount ?? 0;
          tax = priced?.tax ?? 0;
          if (!isSafeAmount(discount) || !isSafeAmount(tax) || discount > subtotal) {
            throw ordersError('orders.invalid_pricing', 'The pricing hook answered an invalid discount or tax');
          }
        }
        const at = iso(createdAt);
        const row: OrderRow = {
          id, user_id: userId, status: 'pending_payment', currency, subtotal, discount, tax, total: subtotal - discount + tax, refunded: 0,
          payment_id: null, version: 1, expires_at: expiresAt, created_at: at, updated_at: at, paid_at: null, fulfilled_at: null, cancelled_at: null,
        };
        // The order's rows are not read back: on PostgreSQL they go out in one statement with the
        // reservations, the event and the expiry job, just before the recorded answer and the commit.
        await executeLater(db(), ORDER_INSERT.compile(kernel.storage.dialect, [row]));
        const itemRows: ItemRow[] = items.map((i, line) => ({
          order_id: id, line, sku: i.sku, product_id: i.productId, name: i.name, quantity: i.quantity, unit_price: i.unitPrice, line_total: i.lineTotal,
        }));
        await executeLater(db(), ITEM_INSERT.compile(kernel.storage.dialect, itemRows));
        const result = toOrder(row, itemRows);
        await kernel.emit({
          type: 'order.created',
          aggregate: { type: 'order', id },
          payload: { id, userId, total: result.total, items: items.map((i) => ({ sku: i.sku, quantity: i.quantity })), expiresAt },
        });
        // Commits with the order: the worker expires it at its deadline if it is still unpaid then.
        // No unique key: the order is new, so no other job can name it (and a key would need a read-back).
        await kernel.jobs.enqueue(ORDER_EXPIRE_JOB, { orderId: id }, { runAt: expiresAt });
        return result;
      });
      return order;
    },

    async listOrders(query, caller) {
      const everyone = await kernel.can(caller.actor, 'orders:read');
      if (!everyone) await kernel.authorize(caller.actor, 'orders:read:own');
      const limit = Math.min(Math.max(query.limit ?? 20, 1), 100);
      let q = db().selectFrom('orders').select(ORDER_COLUMNS);
      if (!everyone) {
        const me = ownerOf(caller.actor);
        if (!me) return { data: [], nextCursor: null };
        q = q.where('user_id', '=', me);
      } else if (query.userId) {
        q = q.where('user_id', '=', query.userId);
      }
      if (query.status) q = q.where('status', '=', query.status);
      if (query.since) q = q.where('created_at', '>=', iso(Date.parse(query.since)));
      if (query.until) q = q.where('created_at', '<', iso(Date.parse(query.until)));
      if (query.cursor) q = q.where('id', '<', query.cursor);
      const rows = (await q.orderBy('id', 'desc').limit(limit + 1).execute()) as OrderRow[];
      const kept = rows.slice(0, limit);
      const items = await itemsOf(kept.map((r) => r.id));
      return pageOf(rows, limit, (r) => r.id, (r) => toOrder(r, items.get(r.id) ?? []));
    },

    async summary(window, caller) {
      await kernel.authorize(caller.actor, 'orders:read');
      const now = kernel.clock.now();
      const startOfDay = new Date(now);
      startOfDay.setUTCHours(0, 0, 0, 0);
      const since = iso(window.since ? Date.parse(window.since) : startOfDay.getTime());
      const until = iso(window.until ? Date.parse(window.until) : now);
      if (since > until) {
        throw new PlinthError('validation.failed', 'since must not be after until', { errors: [{ path: 'since', message: 'must not be after until', code: 'custom' }] });
      }
      const placed = await db()
        .selectFrom('orders')
        .select(['status', (eb) => eb.fn.countAll().as('n')])
        .where('created_at', '>=', since)
        .where('created_at', '<', until)
        .groupBy('status')
        .execute();
      const paid = await db()
        .selectFrom('orders')
        .select(['currency', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.sum<number>('total').as('total'), (eb) => eb.fn.sum<number>('refunded').as('refunded')])
        .where('paid_at', '>=', since)
        .where('paid_at', '<', until)
        .groupBy('currency')
        .orderBy('currency')
        .execute();
      const byStatus: Record<string, number> = {};
      let orders = 0;
      for (const row of placed) {
        byStatus[String(row.status)] = Number(row.n);
        orders += Number(row.n);
      }
      return {
        since,
        until,
        orders,
        byStatus,
        revenue: paid.map((r) => ({ amount: Number(r.total) - Number(r.refunded), currency: String(r.currency) })),
        paidOrders: paid.reduce((sum, r) => sum + Number(r.n), 0),
      };
    },

    async getOrder(id, caller) {
      return orderWithItems(await visible(id, caller.actor));
    },

    async cancelOrder(id, expectedVersion, caller) {
      return kernel.transaction(async () => {
        const row = await visible(id, caller.actor, true);
        await kernel.authorize(caller.actor, 'orders:cancel', refOf(row));
        checkVersion(row, expectedVersion);
        const at = iso();
        const next = await moveTo(row, 'cancelled', { cancelled_at: at, expires_at: null });
        const released = await inventory().release(id);
        await kernel.emit({ type: 'order.cancelled', aggregate: { type: 'order', id }, payload: { id, userId: row.user_id, released } });
        await audit().record(caller, { action: 'orders.order.cancelled', target: { type: 'order', id }, data: { released } });
        return orderWithItems(next);
      });
    },

    async fulfilOrder(id, expectedVersion, caller) {
      await kernel.authorize(caller.actor, 'orders:fulfil');
      return kernel.transaction(async () => {
        const row = await readRow(id, true);
        if (!row) throw notFound();
        checkVersion(row, expectedVersion);
        const next = await moveTo(row, 'fulfilled', { fulfilled_at: iso() });
        await kernel.emit({ type: 'order.fulfilled', aggregate: { type: 'order', id }, payload: { id, userId: row.user_id } });
        await audit().record(caller, { action: 'orders.order.fulfilled', target: { type: 'order', id } });
        return orderWithItems(next);
      });
    },

    async expireDueOrders(now = kernel.clock.now()) {
      const due = iso(now);
      let expired = 0;
      for (;;) {
        const candidates = (await db()
          .selectFrom('orders')
          .select('id')
          .where('status', '=', 'pending_payment')
          .where('expires_at', '<=', due)
          .orderBy('expires_at')
          .limit(EXPIRY_BATCH)
          .execute()) as { id: string }[];
        for (const { id } of candidates) if (await expire(id, due)) expired++;
        if (candidates.length < EXPIRY_BATCH) return expired;
      }
    },

    expireOrder(orderId, now = kernel.clock.now()) {
      return expire(orderId, iso(now));
    },

    async payable(orderId) {
      const row = await readRow(orderId);
      if (!row) throw notFound();
      const money = (amount: number): Money => ({ amount: Number(amount), currency: row.currency });
      return { id: row.id, userId: row.user_id, status: row.status, total: money(row.total), refunded: money(row.refunded), version: Number(row.version), expiresAt: row.expires_at, paymentId: row.payment_id };
    },

    async markPaid(orderId, payment) {
      return kernel.transaction(async () => {
        const row = await readRow(orderId, true);
        if (!row) throw notFound();
        assertTransition(row, 'paid');
        if (payment.amount.currency !== row.currency || payment.amount.amount !== Number(row.total)) {
          throw ordersError('orders.amount_mismatch', `The order is ${row.total} ${row.currency}; the payment is ${payment.amount.amount} ${payment.amount.currency}`);
        }
        const next = await moveTo(row, 'paid', { paid_at: iso(), payment_id: payment.paymentId, expires_at: null });
        await inventory().commit(orderId);
        const items = (await itemsOf([orderId])).get(orderId) ?? [];
        // What was sold, with each product's category when paid: analytics counts units from the event, not the tables.
        const productIds = [...new Set(items.map((i) => i.product_id))];
        const categories = new Map<string, string | null>();
        if (productIds.length) {
          const rows = (await db().selectFrom('products').select(['id', 'category_id']).where('id', 'in', productIds).execute()) as { id: string; category_id: string | null }[];
          for (const r of rows) categories.set(r.id, r.category_id);
        }
        await kernel.emit({
          type: 'order.paid',
          aggregate: { type: 'order', id: orderId },
          payload: {
            id: orderId,
            userId: row.user_id,
            paymentId: payment.paymentId,
            total: { amount: Number(row.total), currency: row.currency },
            items: items.map((i) => ({
              sku: i.sku,
              productId: i.product_id,
              categoryId: categories.get(i.product_id) ?? null,
              quantity: Number(i.quantity),
              lineTotal: Number(i.line_total),
            })),
          },
        });
        return toOrder(next, items);
      });
    },

    async recordRefund(orderId, refund, caller) {
      return kernel.transaction(async () => {
        const row = await readRow(orderId, true);
        if (!row) throw notFound();
        const amount = refund.amount;
        if (amount.currency !== row.currency || !Number.isSafeInteger(amount.amount) || amount.amount <= 0) {
          throw ordersError('orders.amount_mismatch', `A refund is a positive amount in ${row.currency}`);
        }
        const refunded = Number(row.refunded) + amount.amount;
        if (refunded > Number(row.total)) {
          throw ordersError('orders.refund_exceeds_paid', `Only ${Number(row.total) - Number(row.refunded)} ${row.currency} is left to refund`, {
            details: { refundable: { amount: Number(row.total) - Number(row.refunded), currency: row.currency } },
          });
        }
        const to: OrderStatus = refunded === Number(row.total) ? 'refunded' : 'partially_refunded';
        const next = await moveTo(row, to, { refunded });
        const items = (await itemsOf([orderId])).get(orderId) ?? [];
        if (refund.restock) {
          await inventory().restock(
            items.map((i) => ({ sku: i.sku, quantity: Number(i.quantity) })),
            caller ?? { actor: { kind: 'system', name: 'orders' } },
            `refund of order ${orderId}`,
          );
        }
        await kernel.emit({
          type: 'order.refunded',
          aggregate: { type: 'order', id: orderId },
          payload: { id: orderId, userId: row.user_id, amount, refunded: { amount: refunded, currency: row.currency }, status: to, restocked: Boolean(refund.restock) },
        });
        if (caller) {
          await audit().record(caller, { action: 'orders.order.refunded', target: { type: 'order', id: orderId }, data: { amount: amount.amount, currency: amount.currency, restock: Boolean(refund.restock) } });
        }
        return toOrder(next, items);
      });
    },

  };
  return service;
}
