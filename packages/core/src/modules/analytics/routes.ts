import { reportsRoutes } from '../../contract/reports.js';
import { implement } from '../../module.js';
import { callerOf } from '../access/routes.js';
import type { AnalyticsService } from './service.js';

const analytics = (ctx: { kernel: { service<S>(name: string): S } }) => ctx.kernel.service<AnalyticsService>('analytics');

/** The reports API: parse, call the service, answer. */
export const analyticsRouteImplementations = [
  implement(reportsRoutes.getSalesReport, (ctx) => analytics(ctx).sales(ctx.query, callerOf(ctx))),
  implement(reportsRoutes.getOrdersReport, (ctx) => analytics(ctx).orders(ctx.query, callerOf(ctx))),
  implement(reportsRoutes.getProductsReport, (ctx) => analytics(ctx).products(ctx.query, callerOf(ctx))),
  implement(reportsRoutes.getCategoriesReport, (ctx) => analytics(ctx).categories(ctx.query, callerOf(ctx))),
  implement(reportsRoutes.getUsersReport, (ctx) => analytics(ctx).users(ctx.query, callerOf(ctx))),
  implement(reportsRoutes.getPaymentsReport, (ctx) => analytics(ctx).payments(ctx.query, callerOf(ctx))),
  implement(reportsRoutes.getLowStockReport, (ctx) => analytics(ctx).lowStock(ctx.query, callerOf(ctx))),
  implement(reportsRoutes.getReportsFreshness, (ctx) => analytics(ctx).freshness(callerOf(ctx))),
  implement(reportsRoutes.exportReport, (ctx) => analytics(ctx).exportReport(ctx.params.name, ctx.query, callerOf(ctx))),
];
