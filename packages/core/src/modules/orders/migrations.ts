import { sql } from 'kysely';
import type { Migration } from '../../migrations/migration.js';

/**
 * PostgreSQL: an order placed in one call, `plinth_orders_place(...)` (see `place-postgres.ts`),
 * whose statements keep their plans per connection (`plan_cache_mode = force_generic_plan` for
 * the function only; `jit = off`: small statements, never worth compiling). Placed statement
 * by statement from Node, an order took four round trips (catalog read, reservation, one
 * combined insert, plus the idempotency record), each statement parsed and planned again.
 *
 * The steps, as the statement-by-statement path takes them: price the SKUs from the catalog
 * (answers `unpriced` with what it found, writing nothing, when one is unknown or inactive or
 * the currencies differ); reserve their units as inventory's `reserve` does, the stock rows
 * locked in SKU order (two orders for the same SKUs cannot deadlock), and answer `short` with
 * the first SKU that lacks them (the caller rolls back what was reserved); emit
 * `inventory.low_stock` (id from `p_low_stock_ids`, by the SKU's position) for each SKU whose
 * availability falls below its threshold; write the order, its items, its reservations, the
 * `order.created` event and the expiry job (`p_job`, a `plinth_jobs` row) in one statement.
 * Three statements for an order that is placed, each with its plan kept.
 */
const placeFunction: Migration = {
  name: '0003-orders-place-function',
  async up(db, { dialect }) {
    if (dialect !== 'postgres') return;
    await sql
      .raw(
        `create function plinth_orders_place(p_order_id text, p_user_id text, p_skus text[], p_quantities bigint[], p_at timestamptz,
  p_expires_at text, p_low_stock_ids text[], p_event_id text, p_traceparent text, p_job jsonb)
returns table (outcome text, product_ids text[], names text[], prices bigint[], currencies text[], active boolean[], short_sku text, low_stock text[])
language plpgsql volatile
set plan_cache_mode = force_generic_plan
set jit = off
as $$
#variable_conflict use_column
declare
  v_reserved text[];
  v_subtotal bigint;
  v_payloads jsonb[];
  v_ids text[];
begin
  select array_agg(s.product_id order by k.i),
         array_agg(case when coalesce(s.name, '') = '' then p.name else p.name || ' (' || s.name || ')' end order by k.i),
         array_agg(s.price_amount order by k.i),
         array_agg(s.currency order by k.i),
         array_agg(coalesce(p.status = 'active', false) order by k.i)
    into product_ids, names, prices, currencies, active
    from unnest(p_skus) with ordinality k(sku, i)
    left join product_skus s on s.sku = k.sku
    left join products p on p.id = s.product_id;
  if false = any(active) or currencies[1] <> any(currencies) then
    outcome := 'unpriced';
    return next;
    return;
  end if;

  -- The reservation rule of the inventory module, in one statement: the SKUs' rows locked in SKU
  -- order, each updated only while it has the units (rechecked on the row's latest version).
  with locked as (select i.sku from inventory_items i where i.sku = any(p_skus) order by i.sku for update),
  r as (
    update inventory_items i set reserved = i.reserved + k.q, updated_at = p_at
      from unnest(p_skus, p_quantities, prices) with ordinality k(sku, q, price, i)
     where i.sku = k.sku and i.sku in (select l.sku from locked l) and i.on_hand - i.reserved >= k.q
    returning i.sku, i.on_hand - i.reserved as available, i.low_stock_threshold as threshold, k.q, k.price, k.i)
  select coalesce(array_agg(r.sku), '{}'),
         sum(r.q * r.price),
         coalesce(array_agg(r.sku order by r.i) filter (where r.threshold > 0 and r.available < r.threshold and r.available + r.q >= r.threshold), '{}'),
         array_agg(p_low_stock_ids[r.i] order by r.i) filter (where r.threshold > 0 and r.available < r.threshold and r.available + r.q >= r.threshold),
         array_agg(jsonb_build_object('sku', r.sku, 'available', r.available, 'threshold', r.threshold) order by r.i)
           filter (where r.threshold > 0 and r.available < r.threshold and r.available + r.q >= r.threshold)
    into v_reserved, v_subtotal, low_stock, v_ids, v_payloads
    from r;
  if cardinality(v_reserved) < cardinality(p_skus) then
    select k.sku into short_sku from unnest(p_skus) with ordinality k(sku, i) where k.sku <> all(v_reserved) order by k.i limit 1;
    outcome := 'short';
    return next;
    return;
  end if;
  if cardinality(low_stock) > 0 then
    insert into plinth_outbox (id, type, aggregate_type, aggregate_id, payload, created_at, traceparent)
    select e.id, 'inventory.low_stock', 'sku', e.sku, e.payload, p_at, p_traceparent
      from unnest(v_ids, low_stock, v_payloads) e(id, sku, payload);
  end if;

  -- The order's rows in one statement (foreign keys are checked at its end).
  with o as (
    insert into orders (id, user_id, status, currency, subtotal, discount, tax, total, refunded, payment_id, version, expires_at, created_at, updated_at, paid_at, fulfilled_at, cancelled_at)
    values (p_order_id, p_user_id, 'pending_payment', currencies[1], v_subtotal, 0, 0, v_subtotal, 0, null, 1, p_expires_at::timestamptz, p_at, p_at, null, null, null)),
  lines as (
    insert into order_items (order_id, line, sku, product_id, name, quantity, unit_price, line_total)
    select p_order_id, k.i - 1, k.sku, product_ids[k.i], names[k.i], k.q, prices[k.i], prices[k.i] * k.q
      from unnest(p_skus, p_quantities) with ordinality k(sku, q, i)),
  held as (
    insert into inventory_reservations (reference, sku, quantity, status, expires_at, created_at, updated_at)
    select p_order_id, k.sku, k.q, 'active', p_expires_at::timestamptz, p_at, p_at
      from unnest(p_skus, p_quantities) k(sku, q)),
  ev as (
    insert into plinth_outbox (id, type, aggregate_type, aggregate_id, payload, created_at, traceparent)
    select p_event_id, 'order.created', 'order', p_order_id,
           jsonb_build_object('id', p_order_id, 'userId', p_user_id, 'total', jsonb_build_object('amount', v_subtotal, 'currency', currencies[1]),
             'items', jsonb_agg(jsonb_build_object('sku', k.sku, 'quantity', k.q) order by k.i), 'expiresAt', p_expires_at),
           p_at, p_traceparent
      from unnest(p_skus, p_quantities) with ordinality k(sku, q, i))
  insert into plinth_jobs select * from jsonb_populate_record(null::plinth_jobs, p_job);
  outcome := 'placed';
  return next;
end
$$`,
      )
      .execute(db);
  },
  async down(db, { dialect }) {
    if (dialect !== 'postgres') return;
    await sql.raw('drop function if exists plinth_orders_place(text, text, text[], bigint[], timestamptz, text, text[], text, text, jsonb)').execute(db);
  },
};

export const ordersMigrations: Migration[] = [
  {
    name: '0001-create-orders',
    async up(db, { types }) {
      await db.schema
        .createTable('orders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.references('users.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('subtotal', 'bigint', (c) => c.notNull())
        .addColumn('discount', 'bigint', (c) => c.notNull())
        .addColumn('tax', 'bigint', (c) => c.notNull())
        .addColumn('total', 'bigint', (c) => c.notNull())
        .addColumn('refunded', 'bigint', (c) => c.notNull())
        .addColumn('payment_id', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('expires_at', types.timestamp)
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .addColumn('paid_at', types.timestamp)
        .addColumn('fulfilled_at', types.timestamp)
        .addColumn('cancelled_at', types.timestamp)
        .execute();
      await db.schema.createIndex('orders_user_idx').on('orders').columns(['user_id', 'id']).execute();
      await db.schema.createIndex('orders_status_idx').on('orders').columns(['status', 'id']).execute();
      // The expiry sweep: unpaid orders by deadline.
      await db.schema.createIndex('orders_expiry_idx').on('orders').columns(['status', 'expires_at']).execute();

      await db.schema
        .createTable('order_items')
        .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
        .addColumn('line', 'integer', (c) => c.notNull())
        .addColumn('sku', 'text', (c) => c.notNull())
        .addColumn('product_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('unit_price', 'bigint', (c) => c.notNull())
        .addColumn('line_total', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('order_items_pk', ['order_id', 'line'])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('order_items').execute();
      await db.schema.dropTable('orders').execute();
    },
  },
  {
    name: '0002-orders-time-indexes',
    async up(db) {
      // The console's dashboard and date filters: orders placed, and orders paid, in a window.
      await db.schema.createIndex('orders_created_idx').on('orders').column('created_at').execute();
      await db.schema.createIndex('orders_paid_idx').on('orders').column('paid_at').execute();
    },
    async down(db) {
      await db.schema.dropIndex('orders_paid_idx').execute();
      await db.schema.dropIndex('orders_created_idx').execute();
    },
  },
  placeFunction,
];
