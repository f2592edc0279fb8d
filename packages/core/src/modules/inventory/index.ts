import { z } from 'zod';
import { adjustmentReasons } from '../../contract/inventory.js';
import { defineModule, type PermissionDeclaration } from '../../module.js';
import { inventoryMigrations } from './migrations.js';
import { inventoryRouteImplementations } from './routes.js';
import { createInventoryService } from './service.js';

export const inventoryPermissions = {
  'inventory:read': { description: 'Read stock levels and adjustments of any SKU', grantedTo: ['staff'] },
  'inventory:adjust': { description: 'Adjust stock on hand (audited) and set low-stock thresholds', grantedTo: ['staff'] },
} as const satisfies Record<string, PermissionDeclaration>;

export const inventoryEvents = {
  'inventory.adjusted': z.object({ sku: z.string(), delta: z.number().int(), reason: z.enum(adjustmentReasons), onHand: z.number().int(), reserved: z.number().int() }),
  /** Available stock of a SKU fell below its threshold (once per crossing). */
  'inventory.low_stock': z.object({ sku: z.string(), available: z.number().int(), threshold: z.number().int() }),
};

/** Stock per SKU: on hand, reserved (by orders), adjustments with reasons, low-stock events. */
export const inventoryModule = defineModule({
  name: 'inventory',
  dependsOn: ['catalog', 'audit'],
  migrations: inventoryMigrations,
  permissions: inventoryPermissions,
  events: inventoryEvents,
  routes: inventoryRouteImplementations,
  services: createInventoryService,
});

export type { InventoryService, Stock, Adjustment, AdjustmentReason, ReservationItem } from './service.js';
