import { type RawBuilder, sql, type SqlBool } from 'kysely';
import { type Actor, unauthenticated } from '../../auth.js';
import { canonicalJson } from '../../canonical-json.js';
import { PlinthError } from '../../errors.js';
import type { KernelContext } from '../../module.js';
import { searchTerms } from '../../storage/full-text.js';
import { compileOncePerLength } from '../../storage/compile-once.js';
import type { AuditService } from '../audit/index.js';
import type { Caller } from '../identity/types.js';
import type { InventoryService } from '../inventory/service.js';
import { catalogError } from './errors.js';
import { decodeCursor, encodeCursor, pageOf } from './keyset.js';
import { productSearchIndex } from './migrations.js';
import type {
  Category, Product, ProductChanges, ProductInput, ProductQuery, ProductRow, ProductSort, ProductStatus, SellableSku, SkuInput, SkuRow,
} from './types.js';

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** The catalog module's services: `kernel.service<CatalogService>('catalog')`. */
export interface CatalogService {
  listCategories(query: { limit?: number | undefined; cursor?: string | undefined; parentId?: string | undefined }): Promise<Page<Category>>;
  createCategory(input: { name: string; slug: string; parentId?: string | undefined }, caller: Caller): Promise<Category>;
  /** Active products for everyone; archived ones for holders of `products:write`. */
  listProducts(query: ProductQuery, actor: Actor | null): Promise<Page<Product>>;
  getProduct(id: string, actor: Actor | null): Promise<Product>;
  createProduct(input: ProductInput, caller: Caller): Promise<Product>;
  /** Optimistic: with `expectedVersion`, a stale version is 409 `catalog.version_conflict`. */
  updateProduct(id: string, changes: ProductChanges, expectedVersion: number | undefined, caller: Caller): Promise<Product>;
  archiveProduct(id: string, expectedVersion: number | undefined, caller: Caller): Promise<void>;
  /** What orders price from: the SKUs found (archived products' too, marked inactive), in one query. */
  sellable(skus: readonly string[]): Promise<Map<string, SellableSku>>;
}

const PRODUCT_COLUMNS = ['id', 'name', 'description', 'category_id', 'status', 'currency', 'price_amount', 'version', 'created_at', 'updated_at'] as const;
const SKU_COLUMNS = ['sku', 'product_id', 'name', 'attributes', 'price_amount', 'currency', 'position'] as const;

interface SortSpec {
  column: 'id' | 'price_amount' | 'name' | 'rank';
  direction: 'asc' | 'desc';
  type: 'string' | 'number';
}

const SORTS: Record<ProductSort, SortSpec> = {
  '-createdAt': { column: 'id', direction: 'desc', type: 'string' },
  createdAt: { column: 'id', direction: 'asc', type: 'string' },
  price: { column: 'price_amount', direction: 'asc', type: 'number' },
  '-price': { column: 'price_amount', direction: 'desc', type: 'number' },
  name: { column: 'name', direction: 'asc', type: 'string' },
  '-name': { column: 'name', direction: 'desc', type: 'string' },
  relevance: { column: 'rank', direction: 'desc', type: 'number' },
};

const byPosition = (a: SkuRow, b: SkuRow) => Number(a.position) - Number(b.position);

export function createCatalogService(kernel: KernelContext): CatalogService {
  const db = () => kernel.db;
  const now = () => new Date(kernel.clock.now()).toISOString();
  const audit = () => kernel.service<AuditService>('audit');
  const inventory = () => kernel.optionalService<InventoryService>('inventory');
  const notFound = () => catalogError('catalog.product_not_found', 'No such product');

  // Every order looks its SKUs up: compiled once per number of SKUs, not built on every order.
  const sellableRows = compileOncePerLength((skus) =>
    kernel.storage.db
      .selectFrom('product_skus as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .select(['s.sku', 's.product_id', 's.name as sku_name', 's.price_amount', 's.currency', 'p.name as product_name', 'p.status'])
      .where('s.sku', 'in', skus),
  );

  /** Staff (holders of `products:write`) see archived products; nobody else learns they exist. */
  const seesArchived = (actor: Actor | null) => (actor ? kernel.can(actor, 'products:write') : Promise.resolve(false));

  /**
   * `stock: false` leaves `available` at 0, for a caller that adds the current stock itself (`withStock`);
   * `'read'`: the SKU rows carry it already (`available`, read in the same statement).
   */
  async function toProducts(rows: ProductRow[], skuRows: (SkuRow & { available?: number | string })[], stock: boolean | 'read' = true): Promise<Product[]> {
    const available =
      stock === 'read'
        ? new Map(skuRows.map((s) => [s.sku, Number(s.available)]))
        : ((stock ? await inventory()?.availableOf(skuRows.map((s) => s.sku)) : undefined) ?? new Map<string, number>());
    const skusOf = new Map<string, SkuRow[]>();
    for (const s of skuRows) {
      let list = skusOf.get(s.product_id);
      if (!list) skusOf.set(s.product_id, (list = []));
      list.push(s);
    }
    return rows.map((p) => ({
      id: p.id,
      name: p.name,
      description: p.description,
      categoryId: p.category_id,
      status: p.status,
      price: { amount: Number(p.price_amount), currency: p.currency },
      skus: (skusOf.get(p.id) ?? []).sort(byPosition).map((s) => ({
        sku: s.sku,
        name: s.name,
        attributes: kernel.storage.fromJson<Record<string, string>>(s.attributes),
        price: { amount: Number(s.price_amount), currency: s.currency },
        available: available.get(s.sku) ?? 0,
      })),
      version: Number(p.version),
      createdAt: p.created_at,
      updatedAt: p.updated_at,
    }));
  }

  async function loadProduct(id: string, stock = true): Promise<Product | undefined> {
    // One query: the product's columns ride along on each of its SKU rows (every product has at least one
    // SKU), and so does each SKU's stock when asked for (no inventory module: none).
    let q = db()
      .selectFrom('product_skus as s')
      .innerJoin('products as p', 'p.id', 's.product_id')
      .select(PRODUCT_COLUMNS.map((c) => `p.${c} as p_${c}` as const))
      .select(SKU_COLUMNS.map((c) => `s.${c}` as const))
      .where('s.product_id', '=', id);
    if (stock) q = q.select((inventory()?.availableSql('s.sku') ?? sql<number>`0`).as('available'));
    const rows = (await q.execute()) as Record<string, any>[];
    if (rows.length === 0) return undefined;
    const first = rows[0]!;
    const product = Object.fromEntries(PRODUCT_COLUMNS.map((c) => [c, first[`p_${c}`]])) as unknown as ProductRow;
    const [out] = await toProducts([product], rows as SkuRow[], stock && 'read');
    return out;
  }

  async function lockedProduct(id: string): Promise<ProductRow> {
    const row = (await kernel.storage.forUpdate(db().selectFrom('products').select(PRODUCT_COLUMNS).where('id', '=', id)).executeTakeFirst()) as ProductRow | undefined;
    if (!row) throw notFound();
    return row;
  }

  async function checkCategory(categoryId: string | null | undefined): Promise<void> {
    if (categoryId == null) return;
    const found = await db().selectFrom('categories').select('id').where('id', '=', categoryId).executeTakeFirst();
    if (!found) {
      throw catalogError('catalog.category_not_found', 'No such category', { details: { categoryId } });
    }
  }

  /** One currency per product: the existing one, or the first SKU's. */
  function currencyOf(skus: readonly SkuInput[], existing: string | undefined): string {
    const currency = existing ?? skus[0]!.price.currency;
    const other = skus.find((s) => s.price.currency !== currency);
    if (other) {
      throw catalogError('catalog.mixed_currencies', `Every SKU of a product is priced in one currency (${currency}); ${other.sku} is in ${other.price.currency}`, {
        details: { currency, sku: other.sku },
      });
    }
    return currency;
  }

  /** Inserts or updates SKUs of a product; a SKU of another product is 409 `catalog.sku_taken`. */
  async function writeSkus(productId: string, skus: readonly SkuInput[], at: string): Promise<void> {
    const existing = (await db().selectFrom('product_skus').select(['sku', 'product_id', 'position']).where('sku', 'in', skus.map((s) => s.sku)).execute()) as SkuRow[];
    const taken = existing.find((r) => r.product_id !== productId);
    if (taken) throw catalogError('catalog.sku_taken', `SKU ${taken.sku} belongs to another product`, { details: { sku: taken.sku } });
    const known = new Set(existing.map((r) => r.sku));
    const last = (await db().selectFrom('product_skus').select((eb) => eb.fn.max('position').as('max')).where('product_id', '=', productId).executeTakeFirst()) as { max: number | null };
    let position = Number(last?.max ?? -1);
    const inserts = [];
    for (const s of skus) {
      const fields = { name: s.name ?? null, attributes: kernel.storage.toJson(s.attributes ?? {}), price_amount: s.price.amount, currency: s.price.currency, updated_at: at };
      if (known.has(s.sku)) {
        await db().updateTable('product_skus').set(fields).where('sku', '=', s.sku).execute();
      } else {
        inserts.push({ sku: s.sku, product_id: productId, position: ++position, created_at: at, ...fields });
      }
    }
    if (inserts.length) await db().insertInto('product_skus').values(inserts).execute();
  }

  async function lowestPrice(productId: string): Promise<number> {
    const row = (await db().selectFrom('product_skus').select((eb) => eb.fn.min('price_amount').as('min')).where('product_id', '=', productId).executeTakeFirst()) as { min: unknown };
    return Number(row.min);
  }

  /** Copies of `products` with the stock available now (cached products carry what it was when loaded). */
  async function withStock(products: readonly Product[]): Promise<Product[]> {
    const service = inventory();
    if (!service || products.length === 0) return [...products];
    const available = await service.availableOf(products.flatMap((p) => p.skus.map((s) => s.sku)));
    return products.map((p) => ({ ...p, skus: p.skus.map((s) => ({ ...s, available: available.get(s.sku) ?? 0 })) }));
  }

  /** One page of products with `status` (validated and authorized by the caller). */
  async function findProducts(query: ProductQuery, status: ProductStatus, stock = true): Promise<Page<Product>> {
    const limit = Math.min(Math.max(query.limit ?? 20, 1), 100);
    const terms = query.q ? searchTerms(query.q) : [];
    const sortName: ProductSort = query.sort ?? (terms.length ? 'relevance' : '-createdAt');
    const sort = SORTS[sortName];
    if (sort.column === 'rank' && terms.length === 0) {
      throw new PlinthError('validation.failed', 'Sorting by relevance needs a search (q)', {
        errors: [{ path: 'query.sort', message: 'relevance needs q', code: 'custom' }],
      });
    }
    let q = db().selectFrom('products').select(PRODUCT_COLUMNS.map((c) => `products.${c}` as const)).where('products.status', '=', status);
    let rank: RawBuilder<number> | undefined;
    if (query.q !== undefined) {
      // A q with no words in it matches nothing rather than everything.
      if (terms.length === 0) return { data: [], nextCursor: null };
      const match = kernel.storage.fullText.match(q, productSearchIndex, terms);
      q = match.qb;
      rank = match.rank;
      q = q.select(match.rank.as('rank'));
    }
    if (query.categoryId) {
      const categoryId = query.categoryId;
      const subtree = db().selectFrom('categories as c').select('c.id').where(sql<SqlBool>`c.path like (select path from categories where id = ${categoryId}) || '%'`);
      q = q.where('products.category_id', 'in', subtree);
    }
    if (query.currency) q = q.where('products.currency', '=', query.currency);
    if (query.minPrice !== undefined) q = q.where('products.price_amount', '>=', query.minPrice);
    if (query.maxPrice !== undefined) q = q.where('products.price_amount', '<=', query.maxPrice);

    const column = sort.column === 'rank' ? rank! : sql.ref(`products.${sort.column}`);
    const cmp = sort.direction === 'asc' ? '>' : '<';
    if (query.cursor) {
      if (sort.column === 'id') {
        const [id] = decodeCursor(query.cursor, sortName, ['string']) as [string];
        q = q.where('products.id', cmp, id);
      } else {
        let [value, id] = decodeCursor(query.cursor, sortName, [sort.type, 'string']) as [string | number, string];
        if (sort.column === 'rank') {
          // A rank may move when other rows change (bm25 weighs terms by how rare they are in the
          // whole table): continue after the last row's rank as it is now, so the page neither
          // repeats nor skips rows; the rank in the cursor serves when that row no longer matches.
          const current = (await q.clearSelect().select(rank!.as('rank')).where('products.id', '=', id).executeTakeFirst()) as { rank: number } | undefined;
          if (current) value = Number(current.rank);
        }
        q = q.where((eb) => eb.or([eb(column as never, cmp, value as never), eb.and([eb(column as never, '=', value as never), eb('products.id', cmp, id)])]));
      }
    }
    q = q.orderBy(column as never, sort.direction);
    if (sort.column !== 'id') q = q.orderBy('products.id', sort.direction);
    const rows = (await q.limit(limit + 1).execute()) as (ProductRow & { rank?: number })[];
    const kept = rows.slice(0, limit);
    const skuRows = kept.length
      ? ((await db().selectFrom('product_skus').select(SKU_COLUMNS).where('product_id', 'in', kept.map((r) => r.id)).execute()) as SkuRow[])
      : [];
    const products = await toProducts(kept, skuRows, stock);
    const byId = new Map(products.map((p) => [p.id, p]));
    return pageOf(
      rows,
      limit,
      (r) => {
        if (sort.column === 'id') return encodeCursor(sortName, [r.id]);
        const value = sort.column === 'rank' ? Number(r.rank) : sort.column === 'price_amount' ? Number(r.price_amount) : r.name;
        return encodeCursor(sortName, [value, r.id]);
      },
      (r) => byId.get(r.id)!,
    );
  }

  return {
    async listCategories(query) {
      const limit = Math.min(Math.max(query.limit ?? 20, 1), 100);
      let q = db().selectFrom('categories').select(['id', 'name', 'slug', 'parent_id', 'created_at']);
      if (query.parentId) q = q.where('parent_id', '=', query.parentId);
      if (query.cursor) {
        const [name, id] = decodeCursor(query.cursor, 'name', ['string', 'string']) as [string, string];
        q = q.where((eb) => eb.or([eb('name', '>', name), eb.and([eb('name', '=', name), eb('id', '>', id)])]));
      }
      const rows = (await q.orderBy('name').orderBy('id').limit(limit + 1).execute()) as any[];
      return pageOf(
        rows,
        limit,
        (r) => encodeCursor('name', [r.name, r.id]),
        (r) => ({ id: r.id, name: r.name, slug: r.slug, parentId: r.parent_id, createdAt: r.created_at }),
      );
    },

    async createCategory(input, caller) {
      await kernel.authorize(caller.actor, 'categories:write');
      return kernel.transaction(async () => {
        const id = kernel.ids.next();
        let path = `/${id}/`;
        if (input.parentId) {
          const parent = (await db().selectFrom('categories').select('path').where('id', '=', input.parentId).executeTakeFirst()) as { path: string } | undefined;
          if (!parent) throw catalogError('catalog.category_not_found', 'No such parent category', { details: { parentId: input.parentId } });
          path = `${parent.path}${id}/`;
        }
        const taken = await db().selectFrom('categories').select('id').where('slug', '=', input.slug).executeTakeFirst();
        if (taken) throw catalogError('catalog.category_exists', `A category with slug "${input.slug}" exists`);
        const category: Category = { id, name: input.name, slug: input.slug, parentId: input.parentId ?? null, createdAt: now() };
        await db()
          .insertInto('categories')
          .values({ id, name: category.name, slug: category.slug, parent_id: category.parentId, path, created_at: category.createdAt })
          .execute();
        await kernel.emit({ type: 'category.created', aggregate: { type: 'category', id }, payload: category });
        await audit().record(caller, { action: 'catalog.category.created', target: { type: 'category', id }, data: { slug: input.slug } });
        return category;
      });
    },

    async listProducts(query, actor) {
      const status = query.status ?? 'active';
      if (status !== 'active') {
        if (!actor) throw unauthenticated();
        await kernel.authorize(actor, 'products:write');
        return findProducts(query, status);
      }
      // The public list is the same for every caller: cached per query, dropped by any product or category event.
      const page = await kernel.cache.get(`catalog:product-page:${canonicalJson(query)}`, () => findProducts(query, status, false), { tags: ['product', 'category'] });
      return { ...page, data: await withStock(page.data) };
    },

    async getProduct(id, actor) {
      // Shared through Redis when configured; the product's own events invalidate it. Stock is not
      // part of what is cached (orders move it without product events): it is read fresh.
      // A miss reads the stock along with the product (one statement) and caches the product without it.
      let loaded: Product | undefined;
      const cached = await kernel.cache.get(
        `catalog:product-row:${id}`,
        async () => {
          loaded = await loadProduct(id);
          return loaded && { ...loaded, skus: loaded.skus.map((s) => ({ ...s, available: 0 })) };
        },
        { tags: [`product:${id}`] },
      );
      const product = loaded ?? (cached && (await withStock([cached]))[0]);
      if (!product || (product.status !== 'active' && !(await seesArchived(actor)))) throw notFound();
      return product;
    },

    async createProduct(input, caller) {
      await kernel.authorize(caller.actor, 'products:write');
      const currency = currencyOf(input.skus, undefined);
      const id = await kernel.transaction(async () => {
        await checkCategory(input.categoryId);
        const id = kernel.ids.next();
        const at = now();
        const price = Math.min(...input.skus.map((s) => s.price.amount));
        await db()
          .insertInto('products')
          .values({
            id, name: input.name, description: input.description ?? null, category_id: input.categoryId ?? null, status: input.status ?? 'active',
            currency, price_amount: price, version: 1, created_at: at, updated_at: at,
          })
          .execute();
        await writeSkus(id, input.skus, at);
        await kernel.emit({
          type: 'product.created',
          aggregate: { type: 'product', id },
          payload: { id, name: input.name, status: input.status ?? 'active', skus: input.skus.map((s) => ({ sku: s.sku, price: s.price })) },
        });
        await audit().record(caller, {
          action: 'catalog.product.created',
          target: { type: 'product', id },
          data: { skus: input.skus.map((s) => ({ sku: s.sku, amount: s.price.amount, currency: s.price.currency })) },
        });
        return id;
      });
      return (await loadProduct(id))!;
    },

    async updateProduct(id, changes, expectedVersion, caller) {
      await kernel.authorize(caller.actor, 'products:write');
      await kernel.transaction(async () => {
        const before = await lockedProduct(id);
        if (expectedVersion !== undefined && expectedVersion !== Number(before.version)) {
          throw catalogError('catalog.version_conflict', 'The product changed since you read it; read it again', { details: { version: Number(before.version) } });
        }
        if (changes.categoryId !== undefined) await checkCategory(changes.categoryId);
        const at = now();
        let priceChanges: unknown[] = [];
        if (changes.skus?.length) {
          currencyOf(changes.skus, before.currency);
          const old = (await db().selectFrom('product_skus').select(['sku', 'price_amount']).where('product_id', '=', id).execute()) as SkuRow[];
          const oldPrice = new Map(old.map((r) => [r.sku, Number(r.price_amount)]));
          priceChanges = changes.skus
            .filter((s) => oldPrice.get(s.sku) !== s.price.amount)
            .map((s) => ({ sku: s.sku, before: oldPrice.get(s.sku) ?? null, after: s.price.amount, currency: before.currency }));
          await writeSkus(id, changes.skus, at);
        }
        const set: Record<string, unknown> = { updated_at: at };
        if (changes.name !== undefined) set.name = changes.name;
        if (changes.description !== undefined) set.description = changes.description;
        if (changes.categoryId !== undefined) set.category_id = changes.categoryId;
        if (changes.status !== undefined) set.status = changes.status;
        if (changes.skus?.length) set.price_amount = await lowestPrice(id);
        // The version check is in the statement itself: a concurrent writer cannot slip in between.
        const result = await db()
          .updateTable('products')
          .set((eb) => ({ ...set, version: eb('version', '+', 1) }))
          .where('id', '=', id)
          .where('version', '=', before.version)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) {
          throw catalogError('catalog.version_conflict', 'The product changed since you read it; read it again');
        }
        const fields = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined);
        await kernel.emit({ type: 'product.updated', aggregate: { type: 'product', id }, payload: { id, version: Number(before.version) + 1, fields } });
        await audit().record(caller, { action: 'catalog.product.updated', target: { type: 'product', id }, data: { fields, prices: priceChanges } });
      });
      return (await loadProduct(id))!;
    },

    async archiveProduct(id, expectedVersion, caller) {
      await kernel.authorize(caller.actor, 'products:write');
      await kernel.transaction(async () => {
        const before = await lockedProduct(id);
        if (expectedVersion !== undefined && expectedVersion !== Number(before.version)) {
          throw catalogError('catalog.version_conflict', 'The product changed since you read it; read it again', { details: { version: Number(before.version) } });
        }
        if (before.status === 'archived') return;
        const result = await db()
          .updateTable('products')
          .set((eb) => ({ status: 'archived', updated_at: now(), version: eb('version', '+', 1) }))
          .where('id', '=', id)
          .where('version', '=', before.version)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) throw catalogError('catalog.version_conflict', 'The product changed since you read it; read it again');
        await kernel.emit({ type: 'product.archived', aggregate: { type: 'product', id }, payload: { id, version: Number(before.version) + 1 } });
        await audit().record(caller, { action: 'catalog.product.archived', target: { type: 'product', id } });
      });
    },

    async sellable(skus) {
      const out = new Map<string, SellableSku>();
      if (skus.length === 0) return out;
      const { rows } = await sellableRows.run<{ sku: string; product_id: string; sku_name: string | null; price_amount: number; currency: string; product_name: string; status: string }>(db(), skus);
      for (const r of rows) {
        out.set(r.sku, {
          sku: r.sku,
          productId: r.product_id,
          name: r.sku_name ? `${r.product_name} (${r.sku_name})` : r.product_name,
          unitPrice: Number(r.price_amount),
          currency: r.currency,
          active: r.status === 'active',
        });
      }
      return out;
    },
  };
}
