import { z } from 'zod';
import { listOf, pageQuery } from './identity.js';
import { moneySchema, priceInputSchema, versionSchema } from './money.js';
import { defineRoute } from './route.js';

export const catalogErrors = {
  'catalog.product_not_found': 404,
  'catalog.category_not_found': 404,
  'catalog.category_exists': 409,
  'catalog.sku_taken': 409,
  'catalog.version_conflict': 409,
  'catalog.mixed_currencies': 422,
  'catalog.invalid_cursor': 422,
} as const;
export type CatalogErrorCode = keyof typeof catalogErrors;

export const productStatuses = ['active', 'archived'] as const;
/** Sorts of `GET /v1/products`; `-` is descending. `relevance` needs `q` (and is its default). */
export const productSorts = ['-createdAt', 'createdAt', 'price', '-price', 'name', '-name', 'relevance'] as const;

const id = z.string().min(1).max(64);
const sku = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and -');
const name = z.string().trim().min(1).max(200);
const description = z.string().max(10_000);

export const categorySchema = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  parentId: z.string().nullable(),
  createdAt: z.string(),
});

export const skuSchema = z.object({
  sku: z.string(),
  /** Variant label, e.g. `Red / M`. */
  name: z.string().nullable(),
  /** Variant attributes, e.g. `{ color: 'red', size: 'M' }`. */
  attributes: z.record(z.string(), z.string()),
  price: moneySchema,
  /** On hand minus reserved. */
  available: z.number().int(),
});

export const productSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  categoryId: z.string().nullable(),
  status: z.enum(productStatuses),
  /** The lowest SKU price ("from"). */
  price: moneySchema,
  skus: z.array(skuSchema),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const skuInput = z
  .object({
    sku,
    name: z.string().trim().min(1).max(100).optional(),
    attributes: z.record(z.string().min(1).max(50), z.string().max(100)).refine((a) => Object.keys(a).length <= 20, 'at most 20 attributes').optional(),
    price: priceInputSchema,
  })
  .strict();
const skuList = z
  .array(skuInput)
  .min(1)
  .max(100)
  .refine((list) => new Set(list.map((s) => s.sku)).size === list.length, 'every sku must be unique');

const productQuery = pageQuery.extend({
  /** Words to find in the name and description. */
  q: z.string().max(200).optional(),
  /** Products of this category and its subcategories. */
  categoryId: id.optional(),
  /** `archived` needs `products:write`. */
  status: z.enum(productStatuses).default('active'),
  /** "From" price bounds, in minor units. */
  minPrice: z.coerce.number<number>().int().min(0).optional(),
  maxPrice: z.coerce.number<number>().int().min(0).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
  sort: z.enum(productSorts).optional(),
});

const ifMatch = 'or an `If-Match: "<version>"` header';

export const catalogRoutes = {
  listCategories: defineRoute({
    method: 'GET', path: '/v1/categories', operationId: 'listCategories', summary: 'Categories (a tree: each has its parentId), by name.', tags: ['catalog'], auth: 'public',
    query: pageQuery.extend({ parentId: id.optional() }), response: listOf(categorySchema),
  }),
  createCategory: defineRoute({
    method: 'POST', path: '/v1/categories', operationId: 'createCategory', summary: 'Create a category.', tags: ['catalog'], status: 201, permission: 'categories:write',
    body: z.object({ name: z.string().trim().min(1).max(100), slug, parentId: id.optional() }).strict(),
    response: categorySchema,
  }),
  listProducts: defineRoute({
    method: 'GET', path: '/v1/products', operationId: 'listProducts', summary: 'Products: filters, sorts, full-text search (`q`), cursor pagination.', tags: ['catalog'], auth: 'optional',
    query: productQuery, response: listOf(productSchema),
  }),
  createProduct: defineRoute({
    method: 'POST', path: '/v1/products', operationId: 'createProduct', summary: 'Create a product with its SKUs (one currency).', tags: ['catalog'], status: 201, permission: 'products:write',
    body: z.object({ name, description: description.optional(), categoryId: id.optional(), status: z.enum(productStatuses).default('active'), skus: skuList }).strict(),
    response: productSchema,
  }),
  getProduct: defineRoute({
    method: 'GET', path: '/v1/products/:id', operationId: 'getProduct', summary: 'One product (archived ones only for staff).', tags: ['catalog'], auth: 'optional',
    params: z.object({ id }), response: productSchema,
  }),
  updateProduct: defineRoute({
    method: 'PATCH', path: '/v1/products/:id', operationId: 'updateProduct', summary: `Change a product; send the version you read (${ifMatch}).`, tags: ['catalog'], permission: 'products:write',
    params: z.object({ id }),
    body: z
      .object({
        version: versionSchema.optional(),
        name: name.optional(),
        description: description.nullable().optional(),
        categoryId: id.nullable().optional(),
        status: z.enum(productStatuses).optional(),
        /** SKUs to add, or to change (name, attributes, price) when they exist; SKUs are never removed. */
        skus: skuList.optional(),
      })
      .strict(),
    response: productSchema,
  }),
  archiveProduct: defineRoute({
    method: 'DELETE', path: '/v1/products/:id', operationId: 'archiveProduct', summary: `Archive a product (orders keep referring to it); ${ifMatch} is checked when sent.`, tags: ['catalog'], status: 204,
    permission: 'products:write', params: z.object({ id }), response: z.unknown(),
  }),
} as const;
