import { type RawBuilder, sql } from 'kysely';
import type { z } from 'zod';
import type { adjustmentReasons, adjustmentSchema, stockSchema } from '../../contract/inventory.js';
import type { KernelContext } from '../../module.js';
import { compileOncePerLength } from '../../storage/compile-once.js';
import { executeLater } from '../../storage/error-mapping.js';
import { FixedInsert } from '../../storage/fixed-insert.js';
import type { AuditService } from '../audit/index.js';
import { pageOf } from '../catalog/keyset.js';
import type { CatalogService } from '../catalog/service.js';
import type { Caller } from '../identity/types.js';
import { inventoryError } from './errors.js';

export type Stock = z.infer<typeof stockSchema>;
export type Adjustment = z.infer<typeof adjustmentSchema>;
export type AdjustmentReason = (typeof adjustmentReasons)[number];

export interface ReservationItem {
  sku: string;
  quantity: number;
}

/** The inventory module's services: `kernel.service<InventoryService>('inventory')`. */
export interface InventoryService {
  getStock(sku: string, caller: Caller): Promise<Stock>;
  setLowStockThreshold(sku: string, threshold: number, caller: Caller): Promise<Stock>;
  /** Changes stock on hand with a reason; recorded, audited, `inventory.adjusted` (and maybe `inventory.low_stock`) emitted. */
  adjust(sku: string, input: { delta: number; reason: AdjustmentReason; note?: string | undefined }, caller: Caller): Promise<Adjustment & { stock: Stock }>;
  listAdjustments(sku: string, page: { limit?: number | undefined; cursor?: string | undefined }, caller: Caller): Promise<{ data: Adjustment[]; nextCursor: string | null }>;
  /** Available units per SKU (absent: none). Public figures: no permission check. */
  availableOf(skus: readonly string[]): Promise<Map<string, number>>;
  /**
   * `availableOf` as an SQL expression of the SKU column `skuColumn` (e.g. `s.sku`): the units
   * available, 0 for a SKU without stock. For a query that reads the stock of many SKUs along with
   * other rows (the catalog's bulk check of cached products) instead of a second round trip.
   */
  availableSql(skuColumn: string): RawBuilder<number>;

  // The reservation seam, called by orders inside their transaction. No permission checks:
  // the caller (a service) has checked its own.
  /**
   * Reserves every item for `reference`, all or nothing: throws 409
   * `inventory.insufficient_stock` (with the `sku`) when one cannot be had.
   * Call inside a transaction, so that a failure undoes the items reserved before it.
   */
  reserve(reference: string, items: readonly ReservationItem[], expiresAt: string | null): Promise<void>;
  /** Turns the active reservations of `reference` into sales (on hand and reserved go down). Answers what was committed. */
  commit(reference: string): Promise<ReservationItem[]>;
  /** Gives the active reservations of `reference` back (reserved goes down). Answers what was released. */
  release(reference: string): Promise<ReservationItem[]>;
  /** Puts sold units back on hand (a refund that restocks), recorded as `return` adjustments. */
  restock(items: readonly ReservationItem[], caller: Caller, note?: string): Promise<void>;
}

interface ItemRow {
  sku: string;
  on_hand: number;
  reserved: number;
  low_stock_threshold: number;
  updated_at: string | null;
}

// A reservation per SKU of an order: a plain insert compiled once per row count.
const RESERVATION_INSERT = new FixedInsert<{ reference: string; sku: string; quantity: number; status: string; expires_at: string | null; created_at: string; updated_at: string }>(
  'inventory_reservations',
  ['reference', 'sku', 'quantity', 'status', 'expires_at', 'created_at', 'updated_at'],
);

const toStock = (sku: string, row: ItemRow | undefined): Stock => ({
  sku,
  onHand: Number(row?.on_hand ?? 0),
  reserved: Number(row?.reserved ?? 0),
  available: Number(row?.on_hand ?? 0) - Number(row?.reserved ?? 0),
  lowStockThreshold: Number(row?.low_stock_threshold ?? 0),
  updatedAt: row?.updated_at ?? null,
});

const actorIdOf = (caller: Caller): string | null => {
  const actor = caller.actor;
  if (!actor) return null;
  return actor.kind === 'user' ? actor.userId : actor.kind === 'api_key' ? actor.keyId : actor.name;
};

export function createInventoryService(kernel: KernelContext): InventoryService {
  const db = () => kernel.db;
  const now = () => new Date(kernel.clock.now()).toISOString();
  const audit = () => kernel.service<AuditService>('audit');
  const catalog = () => kernel.service<CatalogService>('catalog');

  /**
   * `reserve`'s statement, compiled once per number of SKUs; values: the time, the SKUs (sorted),
   * their quantities. The whole rule in one statement: no read-modify-write, so concurrent buyers
   * cannot oversell. Each SKU's row is updated only while it has the units; PostgreSQL locks the
   * rows first, in SKU order (two orders for the same SKUs cannot deadlock); SQLite has one writer.
   */
  const reserveRows = compileOncePerLength((values) => {
    const n = (values.length - 1) / 2;
    const [at, skus, quantities] = [values[0], values.slice(1, 1 + n), values.slice(1 + n)];
    const wanted = sql<number>`case ${sql.ref('sku')} ${sql.join(
      skus.map((sku, i) => sql`when ${sku} then cast(${quantities[i]} as integer)`),
      sql` `,
    )} end`;
    const locked = kernel.storage.forUpdate(kernel.storage.db.selectFrom('inventory_items').select('sku').where('sku', 'in', skus).orderBy('sku'));
    return kernel.storage.db
      .with('locked', () => locked)
      .updateTable('inventory_items')
      .set((eb) => ({ reserved: eb('reserved', '+', wanted), updated_at: at }))
      .where(sql<boolean>`sku in (select sku from locked)`)
      .where((eb) => eb(eb('on_hand', '-', eb.ref('reserved')), '>=', wanted))
      .returning(['sku', 'on_hand', 'reserved', 'low_stock_threshold']);
  });

  async function knownSku(sku: string): Promise<void> {
    if (!(await catalog().sellable([sku])).has(sku)) throw inventoryError('inventory.sku_not_found', 'No such SKU');
  }

  async function readItem(sku: string): Promise<ItemRow | undefined> {
    return (await db().selectFrom('inventory_items').selectAll().where('sku', '=', sku).executeTakeFirst()) as ItemRow | undefined;
  }

  /** Emits `inventory.low_stock` when available went from at/above the threshold to below it. */
  async function lowStockCheck(row: Pick<ItemRow, 'sku' | 'on_hand' | 'reserved' | 'low_stock_threshold'>, availableBefore: number): Promise<void> {
    const threshold = Number(row.low_stock_threshold);
    const available = Number(row.on_hand) - Number(row.reserved);
    if (threshold > 0 && available < threshold && availableBefore >= threshold) {
      await kernel.emit({ type: 'inventory.low_stock', aggregate: { type: 'sku', id: row.sku }, payload: { sku: row.sku, available, threshold } });
    }
  }

  /** Creates the SKU's row with nothing in stock when it has none yet. */
  async function ensureItem(sku: string): Promise<void> {
    await db()
      .insertInto('inventory_items')
      .values({ sku, on_hand: 0, reserved: 0, low_stock_threshold: 0, updated_at: now() })
      .onConflict((oc) => oc.column('sku').doNothing())
      .execute();
  }

  /** Adds `delta` to on hand unless available would drop below zero; answers the new row, or undefined. */
  async function addOnHand(sku: string, delta: number): Promise<ItemRow | undefined> {
    return (await db()
      .updateTable('inventory_items')
      .set((eb) => ({ on_hand: eb('on_hand', '+', delta), updated_at: now() }))
      .where('sku', '=', sku)
      .where((eb) => eb(eb(eb('on_hand', '+', delta), '-', eb.ref('reserved')), '>=', 0))
      .returning(['sku', 'on_hand', 'reserved', 'low_stock_threshold', 'updated_at'])
      .executeTakeFirst()) as ItemRow | undefined;
  }

  /** Claims the active reservations of `reference` (a conditional update: two claims never get the same rows). */
  async function claim(reference: string, status: 'committed' | 'released'): Promise<ReservationItem[]> {
    const rows = (await db()
      .updateTable('inventory_reservations')
      .set({ status, updated_at: now() })
      .where('reference', '=', reference)
      .where('status', '=', 'active')
      .returning(['sku', 'quantity'])
      .execute()) as { sku: string; quantity: number }[];
    return rows.map((r) => ({ sku: r.sku, quantity: Number(r.quantity) })).sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  }

  return {
    async getStock(sku, caller) {
      await kernel.authorize(caller.actor, 'inventory:read');
      await knownSku(sku);
      return toStock(sku, await readItem(sku));
    },

    async setLowStockThreshold(sku, threshold, caller) {
      await kernel.authorize(caller.actor, 'inventory:adjust');
      return kernel.transaction(async () => {
        await knownSku(sku);
        await ensureItem(sku);
        const before = await readItem(sku);
        await db().updateTable('inventory_items').set({ low_stock_threshold: threshold, updated_at: now() }).where('sku', '=', sku).execute();
        await audit().record(caller, {
          action: 'inventory.threshold.changed',
          target: { type: 'sku', id: sku },
          data: { before: Number(before?.low_stock_threshold ?? 0), after: threshold },
        });
        return toStock(sku, await readItem(sku));
      });
    },

    async adjust(sku, input, caller) {
      await kernel.authorize(caller.actor, 'inventory:adjust');
      if ((input.reason === 'receipt' || input.reason === 'return') && input.delta < 0) {
        throw inventoryError('inventory.invalid_delta', `A ${input.reason} adds stock: delta must be positive`);
      }
      if (input.reason === 'damage' && input.delta > 0) throw inventoryError('inventory.invalid_delta', 'Damage removes stock: delta must be negative');
      return kernel.transaction(async () => {
        await knownSku(sku);
        await ensureItem(sku);
        const row = await addOnHand(sku, input.delta);
        if (!row) {
          const current = toStock(sku, await readItem(sku));
          throw inventoryError('inventory.insufficient_stock', `Only ${current.available} units of ${sku} are available to remove`, {
            details: { sku, available: current.available },
          });
        }
        const adjustment: Adjustment = {
          id: kernel.ids.next(),
          sku,
          delta: input.delta,
          reason: input.reason,
          note: input.note ?? null,
          actorId: actorIdOf(caller),
          createdAt: now(),
        };
        await db()
          .insertInto('inventory_adjustments')
          .values({ id: adjustment.id, sku, delta: adjustment.delta, reason: adjustment.reason, note: adjustment.note, actor_id: adjustment.actorId, created_at: adjustment.createdAt })
          .execute();
        const stock = toStock(sku, row);
        await kernel.emit({
          type: 'inventory.adjusted',
          aggregate: { type: 'sku', id: sku },
          payload: { sku, delta: input.delta, reason: input.reason, onHand: stock.onHand, reserved: stock.reserved },
        });
        await lowStockCheck(row, stock.available - input.delta);
        await audit().record(caller, {
          action: 'inventory.adjusted',
          target: { type: 'sku', id: sku },
          data: { adjustmentId: adjustment.id, delta: input.delta, reason: input.reason, onHand: stock.onHand },
        });
        return { ...adjustment, stock };
      });
    },

    async listAdjustments(sku, page, caller) {
      await kernel.authorize(caller.actor, 'inventory:read');
      await knownSku(sku);
      const limit = Math.min(Math.max(page.limit ?? 20, 1), 100);
      let q = db().selectFrom('inventory_adjustments').selectAll().where('sku', '=', sku);
      if (page.cursor) q = q.where('id', '<', page.cursor);
      const rows = (await q.orderBy('id', 'desc').limit(limit + 1).execute()) as any[];
      return pageOf(
        rows,
        limit,
        (r) => r.id,
        (r) => ({ id: r.id, sku: r.sku, delta: Number(r.delta), reason: r.reason, note: r.note, actorId: r.actor_id, createdAt: r.created_at }),
      );
    },

    async availableOf(skus) {
      const out = new Map<string, number>();
      if (skus.length === 0) return out;
      const rows = (await db().selectFrom('inventory_items').select(['sku', 'on_hand', 'reserved']).where('sku', 'in', skus).execute()) as ItemRow[];
      for (const r of rows) out.set(r.sku, Number(r.on_hand) - Number(r.reserved));
      return out;
    },

    availableSql(skuColumn) {
      return sql<number>`coalesce((select ${sql.ref('available_of.on_hand')} - ${sql.ref('available_of.reserved')} from ${sql.table('inventory_items')} as available_of where ${sql.ref('available_of.sku')} = ${sql.ref(skuColumn)}), 0)`;
    },

    async reserve(reference, items, expiresAt) {
      if (items.length === 0) return;
      // One lock order for everyone (by SKU): two orders for the same SKUs cannot deadlock on PostgreSQL.
      const sorted = [...items].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
      const at = now();
      const { rows: updated } = await reserveRows.run<ItemRow>(db(), [at, ...sorted.map((i) => i.sku), ...sorted.map((i) => i.quantity)]);
      const bySku = new Map(updated.map((r) => [r.sku, r]));
      const short = sorted.find((item) => !bySku.has(item.sku));
      if (short) {
        // The caller's transaction rolls back what this statement did reserve.
        throw inventoryError('inventory.insufficient_stock', `Not enough stock of ${short.sku}`, { details: { sku: short.sku, requested: short.quantity } });
      }
      const rows = sorted.map((item) => bySku.get(item.sku)!);
      await executeLater(
        db(),
        RESERVATION_INSERT.compile(
          kernel.storage.dialect,
          sorted.map((i) => ({ reference, sku: i.sku, quantity: i.quantity, status: 'active', expires_at: expiresAt, created_at: at, updated_at: at })),
        ),
      );
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        if (Number(row.low_stock_threshold) > 0) await lowStockCheck(row, Number(row.on_hand) - Number(row.reserved) + sorted[i]!.quantity);
      }
    },

    async commit(reference) {
      const claimed = await claim(reference, 'committed');
      for (const item of claimed) {
        await db()
          .updateTable('inventory_items')
          .set((eb) => ({ on_hand: eb('on_hand', '-', item.quantity), reserved: eb('reserved', '-', item.quantity), updated_at: now() }))
          .where('sku', '=', item.sku)
          .execute();
      }
      return claimed;
    },

    async release(reference) {
      const claimed = await claim(reference, 'released');
      for (const item of claimed) {
        await db()
          .updateTable('inventory_items')
          .set((eb) => ({ reserved: eb('reserved', '-', item.quantity), updated_at: now() }))
          .where('sku', '=', item.sku)
          .execute();
      }
      return claimed;
    },

    async restock(items, caller, note) {
      const sorted = [...items].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
      await kernel.transaction(async () => {
        for (const item of sorted) {
          if (item.quantity <= 0) continue;
          await ensureItem(item.sku);
          const row = await addOnHand(item.sku, item.quantity);
          const id = kernel.ids.next();
          await db()
            .insertInto('inventory_adjustments')
            .values({ id, sku: item.sku, delta: item.quantity, reason: 'return', note: note ?? null, actor_id: actorIdOf(caller), created_at: now() })
            .execute();
          await kernel.emit({
            type: 'inventory.adjusted',
            aggregate: { type: 'sku', id: item.sku },
            payload: { sku: item.sku, delta: item.quantity, reason: 'return', onHand: Number(row!.on_hand), reserved: Number(row!.reserved) },
          });
        }
      });
    },
  };
}
