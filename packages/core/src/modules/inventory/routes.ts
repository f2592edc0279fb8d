import { inventoryRoutes } from '../../contract/inventory.js';
import { type HandlerContext, implement } from '../../module.js';
import type { RouteDef } from '../../contract/route.js';
import { callerOf } from '../access/routes.js';
import type { InventoryService } from './service.js';

const inventory = (ctx: HandlerContext<RouteDef>) => ctx.kernel.service<InventoryService>('inventory');

/** The inventory module's HTTP routes: parse, call the service, answer. */
export const inventoryRouteImplementations = [
  implement(inventoryRoutes.getStock, (ctx) => inventory(ctx).getStock(ctx.params.sku, callerOf(ctx))),
  implement(inventoryRoutes.updateStock, (ctx) => inventory(ctx).setLowStockThreshold(ctx.params.sku, ctx.body.lowStockThreshold, callerOf(ctx))),
  implement(inventoryRoutes.listAdjustments, (ctx) => inventory(ctx).listAdjustments(ctx.params.sku, ctx.query, callerOf(ctx))),
  implement(inventoryRoutes.createAdjustment, (ctx) => inventory(ctx).adjust(ctx.params.sku, ctx.body, callerOf(ctx))),
];
