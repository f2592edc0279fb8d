import { canonicalJson } from '../../canonical-json.js';
import { catalogRoutes } from '../../contract/catalog.js';
import { etag } from '../../concurrency/versioning.js';
import { isPlinthError } from '../../errors.js';
import type { Revalidation } from '../../cache/read-cache.js';
import { type HandlerContext, implement, type KernelContext } from '../../module.js';
import { type PreparedJson, prepareJson } from '../../prepared-json.js';
import type { RouteDef } from '../../contract/route.js';
import { callerOf } from '../access/routes.js';
import { productRevalidation, productStamp } from './product-stamps.js';
import type { CatalogService } from './service.js';
import type { Product } from './types.js';
import { expectedVersion } from './versioning.js';

const catalog = (ctx: HandlerContext<RouteDef>) => ctx.kernel.service<CatalogService>('catalog');

/** An active product's answer as cached: its `ETag` and its body, both made once, and what it was made from (`productStamp`). */
interface CachedProduct {
  etag: string;
  answer: PreparedJson<Product>;
  stamp: string;
}

const PRODUCT_KEY = 'catalog:product:';
const productKey = (id: string) => PRODUCT_KEY + id;

/** One bulk check of cached product answers per kernel (PostgreSQL: keeps them past `cache.maxAgeMs` while unchanged). */
const revalidations = new WeakMap<KernelContext, Revalidation>();
function productAnswers(kernel: KernelContext): Revalidation {
  let found = revalidations.get(kernel);
  if (!found) revalidations.set(kernel, (found = productRevalidation(kernel, PRODUCT_KEY)));
  return found;
}

/** `GET /v1/products/:id` past the synchronous hit: loads (and caches) an active product, or reads an archived one for staff. */
async function readProduct(ctx: HandlerContext<typeof catalogRoutes.getProduct>): Promise<Product | PreparedJson<Product>> {
  const id = ctx.params.id;
  const active = await ctx.kernel.cache.get(
    productKey(id),
    async (): Promise<CachedProduct | null> => {
      try {
        const product = await catalog(ctx).getProduct(id, null);
        return { etag: etag(product.version), answer: prepareJson(catalogRoutes.getProduct, product), stamp: productStamp(product) };
      } catch (error) {
        if (isPlinthError(error) && error.code === 'catalog.product_not_found') return null; // missing or archived
        throw error;
      }
    },
    { revalidation: productAnswers(ctx.kernel) },
  );
  if (!active) {
    const product = await catalog(ctx).getProduct(id, ctx.actor); // staff may see an archived one; others get the 404
    ctx.setHeader('etag', etag(product.version));
    return product;
  }
  ctx.setHeader('etag', active.etag);
  return active.answer;
}

/**
 * Public reads (active products, lists of them, categories) are the same for every caller:
 * they go through `kernel.cache` as answers checked and serialized once (`prepareJson`), and
 * any write (an order reserving stock included) drops them. Archived products, which only
 * staff see, are read from the database each time.
 */
export const catalogRouteImplementations = [
  implement(catalogRoutes.listCategories, (ctx) =>
    ctx.kernel.cache.get(`catalog:categories:${canonicalJson(ctx.query)}`, async () =>
      prepareJson(catalogRoutes.listCategories, await catalog(ctx).listCategories(ctx.query)),
    ),
  ),
  implement(catalogRoutes.createCategory, (ctx) => catalog(ctx).createCategory(ctx.body, callerOf(ctx))),
  implement(catalogRoutes.listProducts, (ctx) => {
    if (ctx.query.status !== 'active') return catalog(ctx).listProducts(ctx.query, ctx.actor);
    return ctx.kernel.cache.get(`catalog:products:${canonicalJson(ctx.query)}`, async () =>
      prepareJson(catalogRoutes.listProducts, await catalog(ctx).listProducts(ctx.query, null)),
    );
  }),
  implement(catalogRoutes.createProduct, (ctx) => catalog(ctx).createProduct(ctx.body, callerOf(ctx))),
  implement(catalogRoutes.getProduct, (ctx) => {
    // A hit is answered synchronously (no promise, no microtask turn): the hottest public read.
    const hit = ctx.kernel.cache.peek<CachedProduct | null>(productKey(ctx.params.id));
    if (!hit) return readProduct(ctx);
    ctx.setHeader('etag', hit.etag);
    return hit.answer;
  }),
  implement(catalogRoutes.updateProduct, (ctx) => {
    const { version, ...changes } = ctx.body;
    return catalog(ctx).updateProduct(ctx.params.id, changes, expectedVersion(version, ctx.headers), callerOf(ctx));
  }),
  implement(catalogRoutes.archiveProduct, async (ctx) => {
    await catalog(ctx).archiveProduct(ctx.params.id, expectedVersion(undefined, ctx.headers), callerOf(ctx));
  }),
];
