/**
 * `@plinth/core/contract`: the API's routes and schemas, shared by the server
 * (which implements them) and the client SDK (which is typed from them).
 * Imports zod and nothing else: no database or Redis driver.
 */
export { defineRoute } from './route.js';
export type { StreamedBody, HandlerResponse, HttpMethod, RouteDef, RouteParams, RouteQuery, RouteBody, RouteResponse, RouteInput } from './route.js';
export { kernelRoutes, healthResponse, readyResponse } from './kernel-routes.js';
export type { KernelRoutes } from './kernel-routes.js';
export { problemSchema, problemType, PROBLEM_CONTENT_TYPE } from './problem.js';
export type { Problem } from './problem.js';
export { buildOpenApi } from './openapi.js';
export type { OpenApiInfo } from './openapi.js';
export { PlinthError, errorStatus, statusForCode, isPlinthError } from '../errors.js';
export type { ErrorCode, KernelErrorCode, FieldError } from '../errors.js';
export {
  identityRoutes, identityErrors, userSchema, tokensSchema, mfaRequiredSchema, sessionSchema, apiKeySchema,
  emailSchema, passwordSchema, normalizeEmail, pageQuery, listOf, permissionSchema,
} from './identity.js';
export type { IdentityErrorCode, User, Tokens } from './identity.js';
export { accessRoutes, accessErrors, builtinRoles, orgRoles, roleSchema, orgSchema, memberSchema } from './access.js';
export type { AccessErrorCode } from './access.js';
export { auditRoutes, auditEventSchema, auditVerificationSchema } from './audit.js';
export { moneySchema, currencySchema, priceInputSchema, versionSchema, MAX_PRICE } from './money.js';
export type { Money } from './money.js';
export { catalogRoutes, catalogErrors, categorySchema, productSchema, skuSchema, productStatuses, productSorts } from './catalog.js';
export type { CatalogErrorCode } from './catalog.js';
export { inventoryRoutes, inventoryErrors, stockSchema, adjustmentSchema, adjustmentReasons } from './inventory.js';
export type { InventoryErrorCode } from './inventory.js';
export { ordersRoutes, ordersErrors, orderSchema, orderItemSchema, orderSummarySchema, orderStatuses, MAX_ORDER_ITEMS, MAX_ITEM_QUANTITY } from './orders.js';
export type { OrdersErrorCode, OrderStatus as OrderStatusCode } from './orders.js';
export { jobsRoutes, jobsErrors, jobSchema, jobStateSchema } from './jobs.js';
export type { JobsErrorCode } from './jobs.js';
export { paymentsRoutes, paymentsErrors, paymentIntentSchema, paymentRefundSchema, refundResultSchema, paymentStatuses } from './payments.js';
export type { PaymentsErrorCode, PaymentStatus } from './payments.js';
export {
  reportsRoutes, reportsErrors, reportGroupings, exportableReports, exportFormats, reportDaySchema, reportQuery, salesReportSchema, ordersReportSchema,
  productsReportSchema, categoriesReportSchema, usersReportSchema, paymentsReportSchema, lowStockReportSchema, freshnessSchema,
} from './reports.js';
export type { ReportsErrorCode } from './reports.js';
export { realtimeRoutes, realtimeErrors, realtimeEventSchema, topicsParam, eventIdSchema } from './realtime.js';
export type { RealtimeErrorCode, RealtimeEvent } from './realtime.js';
export {
  notificationsRoutes, notificationsErrors, notificationSchema, deliverySchema, templateSchema, preferenceSchema, notificationChannels, deliveryStatuses,
} from './notifications.js';
export type { NotificationsErrorCode, NotificationChannel, DeliveryStatus } from './notifications.js';
export {
  webhooksRoutes, webhooksErrors, webhookEndpointSchema, webhookEndpointWithSecretSchema, webhookDeliverySchema, webhookDeliveryDetailSchema, webhookAttemptSchema, webhookDeliveryStatuses,
} from './webhooks.js';
export type { WebhooksErrorCode, WebhookDeliveryStatus } from './webhooks.js';
