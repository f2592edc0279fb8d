/**
 * What a cached product answer was made from, as a string (the read cache's `Revalidation`):
 * the product's version (bumped by every change to the product or its SKUs) and the stock
 * available of each SKU. Checking many products costs two queries instead of loading each.
 */
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

/** The current stamps of the products `ids` (missing ones are left out), as `productStamp` makes them. */
export async function currentProductStamps(kernel: KernelContext, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = (await kernel.db
      .selectFrom('products as p')
      .innerJoin('product_skus as s', 's.product_id', 'p.id')
      .select(['p.id', 'p.version', 's.sku'])
      .where('p.id', 'in', ids.slice(i, i + CHUNK))
      .orderBy('p.id')
      .orderBy('s.position')
      .execute()) as { id: string; version: number | string; sku: string }[];
    const available = (await kernel.optionalService<InventoryService>('inventory')?.availableOf(rows.map((r) => r.sku))) ?? new Map<string, number>();
    let product: { version: number; skus: { sku: string; available: number }[] } | undefined;
    let id: string | undefined;
    for (const r of rows) {
      if (r.id !== id) {
        if (product) out.set(id!, productStamp(product));
        id = r.id;
        product = { version: Number(r.version), skus: [] };
      }
      product!.skus.push({ sku: r.sku, available: available.get(r.sku) ?? 0 });
    }
    if (product) out.set(id!, productStamp(product));
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
