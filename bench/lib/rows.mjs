/**
 * The `bench_items` table, shared by the Plinth read-row scenario and its raw
 * better-sqlite3 floor, so both read the same rows and answer the same JSON.
 */
export const TABLE = 'bench_items';

export const CREATE_TABLE_SQL = `create table ${TABLE} (
  id integer primary key,
  sku text not null,
  name text not null,
  price_cents integer not null,
  created_at text not null
)`;

const EPOCH = Date.UTC(2024, 0, 1);

/** Row `id` (1-based), deterministic: the same on every run and in every scenario. */
export function benchRow(id) {
  return {
    id,
    sku: `SKU-${String(id).padStart(6, '0')}`,
    name: `Bench item ${id}`,
    price_cents: 100 + ((id * 7919) % 100_000),
    created_at: new Date(EPOCH + id * 60_000).toISOString(),
  };
}

/** The JSON both servers answer for a row. */
export function toItem(row) {
  return { id: row.id, sku: row.sku, name: row.name, priceCents: row.price_cents, createdAt: row.created_at };
}

/** Rows 1..count in batches (SQLite caps bound parameters per statement). */
export function* rowBatches(count, size = 500) {
  for (let start = 1; start <= count; start += size) {
    const batch = [];
    for (let id = start; id < Math.min(start + size, count + 1); id++) batch.push(benchRow(id));
    yield batch;
  }
}
