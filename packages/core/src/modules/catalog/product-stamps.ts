/**
 * What a cached product answer was made from, as a string (the read cache's `Revalidation`):
 * the product's version (bumped by every change to the product or its SKUs) and the stock
 * available of each SKU. Checking many products costs one query per 500 instead of loading each.
 */
import { sql } from 'kysely';
import type { Revalidation } from '../../cache/read-cache.js';
import type { KernelContext } from '../../module.js';
import type { InventoryService } from '../inventory/service.js';
import type { Product } from './types.js';

/** The stamp of a product as answered: version, then `sku=available` in the answer's SKU order. */
export function productStamp(product: { version: number; skus: readonly Pick<Product['skus'][number], 'sku' | 'available'>[] }): string {
  let stamp = String(product.version);
  for (const s of product.skus) stamp += `|${s.sku}=${s.available}`;
  return stamp;
}

const CHUNK = 500;

/**
 * The current stamps of the products `ids` (missing ones are left out), as `productStamp` makes them,
 * made by the database: one row per product (not one per SKU), its stock read in the same statement,
 * so a check of thousands of cached products costs little more than its round trips.
 */
export async function currentProductStamps(kernel: KernelContext, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const available = kernel.optionalService<InventoryService>('inventory')?.availableSql('s.sku') ?? sql<number>`0`;
  const skus = sql<string>`string_agg('|' || ${sql.ref('s.sku')} || '=' || cast(${available} as text), '' order by ${sql.ref('s.position')})`;
  const stamp = sql<string>`cast(${sql.ref('p.version')} as text) || ${skus}`;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = (await kernel.db
      .selectFrom('products as p')
      .innerJoin('product_skus as s', 's.product_id', 'p.id')
      .select(['p.id', stamp.as('stamp')])
      .where('p.id', 'in', ids.slice(i, i + CHUNK))
      .groupBy(['p.id', 'p.version'])
      .execute()) as { id: string; stamp: string }[];
    for (const r of rows) out.set(r.id, r.stamp);
  }
  return out;
}

/** The bulk check of the cache entries `<prefix><product id>` whose values carry a `stamp` (made by `productStamp`). */
export function productRevalidation(kernel: KernelContext, prefix: string): Revalidation {
  return {
    stampOf: (value) => (value as { stamp?: string } | null)?.stamp,
    async current(keys) {
      const stamps = await currentProductStamps(kernel, keys.map((k) => k.slice(prefix.length)));
      const out = new Map<string, string>();
      for (const [id, stamp] of stamps) out.set(prefix + id, stamp);
      return out;
    },
  };
}
