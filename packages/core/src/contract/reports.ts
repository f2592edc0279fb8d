import { z } from 'zod';
import { currencySchema, moneySchema } from './money.js';
import { defineRoute } from './route.js';

export const reportsErrors = {
  /** `from` after `to`, or a date that is not a calendar date. */
  'reports.invalid_range': 422,
  /** More days than a report answers at once (hourly: 31, otherwise 3660). */
  'reports.range_too_large': 422,
} as const;
export type ReportsErrorCode = keyof typeof reportsErrors;

export const reportGroupings = ['hour', 'day', 'week', 'month'] as const;
export const exportableReports = ['sales', 'orders', 'products', 'categories', 'users', 'payments', 'low-stock'] as const;
export const exportFormats = ['csv', 'jsonl'] as const;

/** A calendar date in the reports' time zone, `YYYY-MM-DD`. */
export const reportDaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD')
  .refine((v) => {
    const t = Date.parse(`${v}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === v;
  }, 'is not a calendar date');

/** `from`/`to` are inclusive local dates (default: the 30 days ending today); buckets are local too. */
export const reportQuery = z.object({
  from: reportDaySchema.optional(),
  to: reportDaySchema.optional(),
  groupBy: z.enum(reportGroupings).default('day'),
  currency: currencySchema.optional(),
});

const rangeFields = {
  from: z.string(),
  to: z.string(),
  groupBy: z.enum(reportGroupings),
  /** The time zone the buckets are in. */
  timezone: z.string(),
};

const salesFigures = {
  currency: z.string(),
  /** Paid orders. */
  orders: z.number().int(),
  /** Paid order totals, minor units. */
  gross: z.number().int(),
  refunds: z.number().int(),
  /** gross − refunds. */
  net: z.number().int(),
  /** gross ÷ paid orders, rounded to a minor unit; null without orders. */
  averageOrderValue: z.number().int().nullable(),
};
export const salesReportSchema = z.object({
  ...rangeFields,
  series: z.array(z.object({ bucket: z.string(), ...salesFigures })),
  totals: z.array(z.object(salesFigures)),
});

const orderCounts = {
  created: z.number().int(),
  paid: z.number().int(),
  fulfilled: z.number().int(),
  cancelled: z.number().int(),
  expired: z.number().int(),
  refunded: z.number().int(),
  partiallyRefunded: z.number().int(),
};
export const ordersReportSchema = z.object({
  ...rangeFields,
  /** Orders that entered each state in the bucket. */
  series: z.array(z.object({ bucket: z.string(), ...orderCounts })),
  totals: z.object(orderCounts),
});

export const productsReportSchema = z.object({
  ...rangeFields,
  /** Best sellers by units, most first. */
  data: z.array(z.object({ productId: z.string(), name: z.string().nullable(), units: z.number().int(), revenue: z.array(moneySchema) })),
});

export const categoriesReportSchema = z.object({
  ...rangeFields,
  data: z.array(z.object({ categoryId: z.string().nullable(), name: z.string().nullable(), units: z.number().int() })),
});

export const usersReportSchema = z.object({
  ...rangeFields,
  /** `activeUsers`: distinct active users in the bucket (null for hours). */
  series: z.array(z.object({ bucket: z.string(), signups: z.number().int(), activeUsers: z.number().int().nullable() })),
  /** DAU, WAU and MAU as of `to` (that day, the 7 and 30 days ending that day). */
  totals: z.object({ signups: z.number().int(), dau: z.number().int(), wau: z.number().int(), mau: z.number().int() }),
});

const paymentFigures = { succeeded: z.number().int(), failed: z.number().int(), successRate: z.number().nullable() };
export const paymentsReportSchema = z.object({
  ...rangeFields,
  series: z.array(z.object({ bucket: z.string(), ...paymentFigures })),
  totals: z.object(paymentFigures),
});

export const lowStockReportSchema = z.object({
  ...rangeFields,
  /** SKUs whose available stock fell below their threshold in the range. */
  data: z.array(z.object({ sku: z.string(), crossings: z.number().int(), lastDay: z.string() })),
});

export const freshnessSchema = z.object({
  /** Time zone of the stored rollups. */
  timezone: z.string(),
  /** `analytics.timezone`; when it differs, `plinth reports rebuild` re-buckets. */
  configuredTimezone: z.string(),
  rebuildRequired: z.boolean(),
  /** Seconds the oldest event not yet in the rollups has waited (0: up to date). */
  lagSeconds: z.number(),
  appliedEvents: z.number().int(),
  lastAppliedAt: z.string().nullable(),
});

const topQuery = reportQuery.extend({ limit: z.coerce.number().int().min(1).max(100).default(10) });

export const reportsRoutes = {
  getSalesReport: defineRoute({
    method: 'GET', path: '/v1/reports/sales', operationId: 'getSalesReport', summary: 'Paid orders, gross revenue, refunds, net revenue and AOV per currency over time.',
    tags: ['reports'], permission: 'reports:read', query: reportQuery, response: salesReportSchema,
  }),
  getOrdersReport: defineRoute({
    method: 'GET', path: '/v1/reports/orders', operationId: 'getOrdersReport', summary: 'Orders by state over time.',
    tags: ['reports'], permission: 'reports:read', query: reportQuery, response: ordersReportSchema,
  }),
  getProductsReport: defineRoute({
    method: 'GET', path: '/v1/reports/products', operationId: 'getProductsReport', summary: 'Top products by units sold, with revenue.',
    tags: ['reports'], permission: 'reports:read', query: topQuery, response: productsReportSchema,
  }),
  getCategoriesReport: defineRoute({
    method: 'GET', path: '/v1/reports/categories', operationId: 'getCategoriesReport', summary: 'Units sold per category.',
    tags: ['reports'], permission: 'reports:read', query: topQuery, response: categoriesReportSchema,
  }),
  getUsersReport: defineRoute({
    method: 'GET', path: '/v1/reports/users', operationId: 'getUsersReport', summary: 'Sign-ups and active users (DAU/WAU/MAU).',
    tags: ['reports'], permission: 'reports:read', query: reportQuery, response: usersReportSchema,
  }),
  getPaymentsReport: defineRoute({
    method: 'GET', path: '/v1/reports/payments', operationId: 'getPaymentsReport', summary: 'Payment successes, failures and success rate.',
    tags: ['reports'], permission: 'reports:read', query: reportQuery, response: paymentsReportSchema,
  }),
  getLowStockReport: defineRoute({
    method: 'GET', path: '/v1/reports/low-stock', operationId: 'getLowStockReport', summary: 'SKUs that fell below their low-stock threshold.',
    tags: ['reports'], permission: 'reports:read', query: topQuery, response: lowStockReportSchema,
  }),
  getReportsFreshness: defineRoute({
    method: 'GET', path: '/v1/reports/freshness', operationId: 'getReportsFreshness', summary: 'How far the rollups are behind the committed events.',
    tags: ['reports'], permission: 'reports:read', response: freshnessSchema,
  }),
  exportReport: defineRoute({
    method: 'GET', path: '/v1/reports/:name/export', operationId: 'exportReport',
    summary: 'Streams the rollup rows of a report (bucket, metric, dimension, value) as CSV or JSON Lines.',
    tags: ['reports'], permission: 'reports:read', responseType: 'stream',
    params: z.object({ name: z.enum(exportableReports) }),
    query: z.object({
      format: z.enum(exportFormats).default('csv'),
      from: reportDaySchema.optional(),
      to: reportDaySchema.optional(),
      /** Rows per hour or per day; default day. */
      grain: z.enum(['hour', 'day']).default('day'),
    }),
    response: z.string(),
  }),
} as const;
