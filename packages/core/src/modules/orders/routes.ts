import { ordersRoutes } from '../../contract/orders.js';
import { type HandlerContext, implement } from '../../module.js';
import type { RouteDef } from '../../contract/route.js';
import { callerOf } from '../access/routes.js';
import { expectedVersion } from '../catalog/versioning.js';
import type { OrdersService } from './service.js';

const orders = (ctx: HandlerContext<RouteDef>) => ctx.kernel.service<OrdersService>('orders');

/** The orders module's HTTP routes: parse, call the service, answer. */
export const ordersRouteImplementations = [
  implement(ordersRoutes.listOrders, (ctx) => orders(ctx).listOrders(ctx.query, callerOf(ctx))),
  implement(ordersRoutes.ordersSummary, (ctx) => orders(ctx).summary(ctx.query, callerOf(ctx))),
  implement(ordersRoutes.createOrder, (ctx) => orders(ctx).createOrder(ctx.body, callerOf(ctx))),
  implement(ordersRoutes.getOrder, (ctx) => orders(ctx).getOrder(ctx.params.id, callerOf(ctx))),
  implement(ordersRoutes.cancelOrder, (ctx) => orders(ctx).cancelOrder(ctx.params.id, expectedVersion(ctx.body?.version, ctx.headers), callerOf(ctx))),
  implement(ordersRoutes.fulfilOrder, (ctx) => orders(ctx).fulfilOrder(ctx.params.id, expectedVersion(ctx.body?.version, ctx.headers), callerOf(ctx))),
];
