import { z } from 'zod';
import { categorySchema, productStatuses } from '../../contract/catalog.js';
import { moneySchema } from '../../contract/money.js';
import { defineModule, type PermissionDeclaration } from '../../module.js';
import { catalogMigrations } from './migrations.js';
import { catalogRouteImplementations } from './routes.js';
import { createCatalogService } from './service.js';

/** Reading active products and categories needs no permission (public routes). */
export const catalogPermissions = {
  'categories:write': { description: 'Create categories', grantedTo: ['staff'] },
  'products:write': { description: 'Create, change and archive products and their prices (audited); see archived products', grantedTo: ['staff'] },
} as const satisfies Record<string, PermissionDeclaration>;

export const catalogEvents = {
  'category.created': categorySchema,
  'product.created': z.object({
    id: z.string(),
    name: z.string(),
    status: z.enum(productStatuses),
    skus: z.array(z.object({ sku: z.string(), price: moneySchema })),
  }),
  /** `fields`: the names of what changed. */
  'product.updated': z.object({ id: z.string(), version: z.number().int(), fields: z.array(z.string()) }),
  'product.archived': z.object({ id: z.string(), version: z.number().int() }),
};

/** Categories (a tree), products with SKUs and prices, full-text search. */
export const catalogModule = defineModule({
  name: 'catalog',
  dependsOn: ['audit'],
  migrations: catalogMigrations,
  permissions: catalogPermissions,
  events: catalogEvents,
  routes: catalogRouteImplementations,
  services: createCatalogService,
});

export type { CatalogService, Page as CatalogPage } from './service.js';
export type { Category, Product, Sku, ProductStatus, ProductSort, ProductInput, ProductChanges, ProductQuery, SkuInput, SellableSku } from './types.js';
export { productSearchIndex } from './migrations.js';
