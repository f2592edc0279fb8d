import { CompiledQuery } from 'kysely';
import { buildJobRow } from '../../jobs/queue.js';
import type { KernelContext } from '../../module.js';
import { currentTraceparent } from '../../trace/context.js';
import type { SellableSku } from '../catalog/types.js';
import { ordersError, unsellable } from './errors.js';
import type { ItemRow, Order, OrderRow } from './types.js';

/** What `createOrder` has checked and merged: SKUs sorted, one quantity each. */
export interface OrderRequest {
  skus: readonly string[];
  quantities: ReadonlyMap<string, number>;
  userId: string | null;
}

interface PlaceRow {
  outcome: 'unpriced' | 'short' | 'placed';
  product_ids: (string | null)[];
  names: (string | null)[];
  prices: (string | number | null)[];
  currencies: (string | null)[];
  active: boolean[];
  short_sku: string | null;
  low_stock: string[] | null;
}

const PLACE_STATEMENT = 'plinth_orders_place';
const PLACE_SQL =
  'select "outcome", "product_ids", "names", "prices", "currencies", "active", "short_sku", "low_stock" ' +
  'from plinth_orders_place($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)';

/**
 * PostgreSQL without a pricing hook: an order in one call of `plinth_orders_place` (migration
 * `orders/0003-orders-place-function`), a prepared statement whose function keeps its plans,
 * instead of a catalog read, a reservation and a combined insert built and planned per order.
 * Same checks in the same order, same rows, events and job as the statement-by-statement
 * path, which a pricing hook (JavaScript, run between the reservation and the writes) keeps.
 */
export function createPostgresPlacement(kernel: KernelContext, toOrder: (row: OrderRow, items: ItemRow[]) => Order, expireJob: string) {
  const iso = (ms: number) => new Date(ms).toISOString();
  const query = (values: unknown[]) => kernel.storage.preparedQuery?.(PLACE_STATEMENT, PLACE_SQL, values) ?? CompiledQuery.raw(PLACE_SQL, values);

  /** The answer for an order the function refused before writing: unknown or inactive SKUs, or mixed currencies. */
  function refusal(request: OrderRequest, row: PlaceRow) {
    const found = new Map<string, SellableSku>();
    request.skus.forEach((sku, i) => {
      const productId = row.product_ids[i];
      if (productId != null) {
        found.set(sku, { sku, productId, name: row.names[i]!, unitPrice: Number(row.prices[i]), currency: row.currencies[i]!, active: row.active[i]! });
      }
    });
    // The function refuses only when `unsellable` has a reason: anything else is a bug (a 500), never a silent order.
    return unsellable(request.skus, found) ?? new Error('plinth_orders_place refused an order the catalog accepts');
  }

  return async function placeOrder(request: OrderRequest): Promise<Order> {
    const { skus, quantities, userId } = request;
    return kernel.transaction(async (tx) => {
      const { ids, clock } = kernel;
      const id = ids.next();
      // Ids in the order the statement-by-statement path takes them: low-stock events (one per SKU
      // that may need one; unused ones are skipped), the order's event, its expiry job.
      const lowStockIds = skus.map(() => ids.next());
      const eventId = ids.next();
      const createdAt = clock.now();
      const at = iso(createdAt);
      const expiresAt = iso(createdAt + kernel.config.orders.expiryMinutes * 60_000);
      const job = buildJobRow({ storage: kernel.storage, clock, ids, config: kernel.config, registry: kernel.jobs.registry }, expireJob, { orderId: id }, { runAt: expiresAt });
      const traceparent = currentTraceparent() ?? null;
      const wanted = skus.map((sku) => quantities.get(sku)!);
      const result = await kernel.db.executeQuery<PlaceRow>(
        query([id, userId, skus, wanted, at, expiresAt, lowStockIds, eventId, traceparent, JSON.stringify({ ...job.row, payload: job.value })]),
      );
      const row = result.rows[0]!;
      if (row.outcome === 'unpriced') throw refusal(request, row);
      if (row.outcome === 'short') {
        // The message and details of inventory's `reserve`, as the other path passes them on.
        const sku = row.short_sku!;
        throw ordersError('orders.insufficient_stock', `Not enough stock of ${sku}`, { details: { sku, requested: quantities.get(sku)! } });
      }
      tx.emitted([{ aggregate: { type: 'order', id } }, ...(row.low_stock ?? []).map((sku) => ({ aggregate: { type: 'sku', id: sku } }))]);
      const itemRows: ItemRow[] = skus.map((sku, line) => {
        const unitPrice = Number(row.prices[line]);
        const quantity = wanted[line]!;
        return { order_id: id, line, sku, product_id: row.product_ids[line]!, name: row.names[line]!, quantity, unit_price: unitPrice, line_total: unitPrice * quantity };
      });
      const subtotal = itemRows.reduce((sum, i) => sum + i.line_total, 0);
      const order: OrderRow = {
        id, user_id: userId, status: 'pending_payment', currency: row.currencies[0]!, subtotal, discount: 0, tax: 0, total: subtotal, refunded: 0,
        payment_id: null, version: 1, expires_at: expiresAt, created_at: at, updated_at: at, paid_at: null, fulfilled_at: null, cancelled_at: null,
      };
      return toOrder(order, itemRows);
    });
  };
}
