/** `@plinth/core`: the kernel and the module system. No HTTP in here. */
export { createPlinth, kernelModule } from './plinth.js';
export type { Plinth, CreatePlinthOptions, Readiness, ReadinessCheck } from './plinth.js';
export { defineModule, implement } from './module.js';
export { systemActor, unauthenticated, forbidden } from './auth.js';
export type { Actor, AuthHooks, Credentials, ResourceRef } from './auth.js';
export type { ModuleDefinition, PermissionDeclaration, AnyModule, KernelContext, Tx, HandlerContext, RouteHandler, RouteImplementation } from './module.js';
export { loadConfig, parseConfig, configFromEnv, configSchema, envKeys, DEFAULT_DATABASE_URL } from './config.js';
export type { PlinthConfig, PlinthConfigInput } from './config.js';
export { PlinthError, errorStatus, statusForCode, isPlinthError } from './errors.js';
export type { ErrorCode, KernelErrorCode, FieldError, PlinthErrorOptions } from './errors.js';
export { systemClock, createManualClock, isoNow } from './clock.js';
export type { Clock, ManualClock } from './clock.js';
export { createIdGenerator } from './ids.js';
export type { IdGenerator } from './ids.js';
export { createLogger, redactPaths } from './logger.js';
export { runInLogScope, currentLogScope, logScopeMixin } from './log-scope.js';
export type { LogScope } from './log-scope.js';
export type { Logger, LoggerConfig } from './logger.js';
export type { Migration, MigrationContext } from './migrations/migration.js';
export type { Migrator, MigrationStatus, MigrationResult } from './migrations/migrator.js';
export type { EventInput, OutboxEvent } from './outbox/outbox.js';
export { OUTBOX_TABLE } from './outbox/outbox.js';
export type { ReadCache, ReadOptions, Revalidation } from './cache/read-cache.js';
export { prepareJson, isPreparedJson } from './prepared-json.js';
export type { PreparedJson } from './prepared-json.js';
export { checkIdempotencyKey } from './idempotency/idempotency.js';
export type { IdempotencyService, IdempotentRequest, IdempotencyStart, IdempotencyLease, RecordedResponse } from './idempotency/idempotency.js';
export { IDEMPOTENCY_TABLE } from './idempotency/migration.js';
export { canonicalJson } from './canonical-json.js';
export { expectedVersion, parseIfMatch, etag, versionConflict, updateVersioned } from './concurrency/versioning.js';
export type { VersionedUpdate } from './concurrency/versioning.js';
export type { Storage, DialectName, ColumnTypes, PoolStats } from './storage/storage.js';
export { createStorage } from './storage/create-storage.js';
export { parseDatabaseUrl, redactUrl } from './storage/url.js';
export type { Registry } from './metrics.js';
export { runWithTrace, currentTraceparent, traceIdOf, childTraceparent } from './trace/context.js';
export { loadOpenTelemetry, spansWanted, startSpan } from './trace/otel.js';
export type { SpanHandle } from './trace/otel.js';
export { createRateLimiter, rateLimitExceeded, DEFAULT_ROUTE_LIMITS, createMemoryRateLimitStore, createRedisRateLimitStore, GCRA_SCRIPT } from './rate-limit/index.js';
export type { RateLimiter, RateLimitRequest, RateLimitDecision, RateLimitHeaders, RateLimiterOptions, RateLimitStore, RedisRateLimitStoreOptions, Rate, BucketCheck, BucketOutcome } from './rate-limit/index.js';
export { builtinModules } from './modules/builtins.js';
export { auditModule } from './modules/audit/index.js';
export type { AuditService, AuditEvent, AuditEventInput, AuditContext, AuditQuery, AuditVerification } from './modules/audit/index.js';
export { identityModule, totpQrCode } from './modules/identity/index.js';
export type {
  IdentityService, IdentityCore, Caller, UserRow, AuthMethod, MfaService, MfaStatus, TotpEnrollment, ReencryptReport, ReencryptTableReport,
} from './modules/identity/index.js';
export { createSecretBox, parseEncryptionKeys, generateEncryptionKey, macKeyId } from './secrets/secret-box.js';
export type { SecretBox, EncryptionKey } from './secrets/secret-box.js';
export type { EncryptedColumn } from './secrets/encrypted-column.js';
export { createDevMailTransport, createSmtpMailTransport, createMemoryMailTransport } from './mail/mail-transport.js';
export type { MailTransport, MailMessage, MemoryMailTransport } from './mail/mail-transport.js';
export { accessModule } from './modules/access/index.js';
export type { AccessService, Role, Org, Member, OrgRole, Page, PageOptions, UserQuery, UserChanges } from './modules/access/index.js';
export type { ApiKeyService } from './modules/identity/api-keys.js';
export { catalogModule, productSearchIndex } from './modules/catalog/index.js';
export type { CatalogService, Category, Product, Sku, ProductStatus, ProductSort, ProductInput, ProductChanges, ProductQuery, SkuInput, SellableSku } from './modules/catalog/index.js';
export { inventoryModule } from './modules/inventory/index.js';
export type { InventoryService, Stock, Adjustment, AdjustmentReason, ReservationItem } from './modules/inventory/index.js';
export { ordersModule, createOrdersModule, ORDER_TRANSITIONS } from './modules/orders/index.js';
export type { OrdersService, Order, OrderStatus, OrderQuery, Payable, PricingHook, PricingDraft, PricingResult, DraftItem, OrdersModuleOptions } from './modules/orders/index.js';
export { analyticsModule, analyticsPermissions, ANALYTICS_EVENTS, ANALYTICS_METRICS, bucketsOf } from './modules/analytics/index.js';
export type { AnalyticsService, AnalyticsEvent, RebuildProgress, RebuildResult, ReportQueryInput, ExportQuery, Freshness } from './modules/analytics/index.js';
export { paymentsModule, createPaymentsModule, createFakeProvider, FAKE_SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECONDS } from './modules/payments/index.js';
export type {
  PaymentsModuleOptions, PaymentsService, PaymentProvider, ProviderEvent, PaymentIntent, PaymentRefund, RefundResult, FakeProvider, FakeProviderOptions, FakeScenario,
} from './modules/payments/index.js';
export { searchTerms } from './storage/full-text.js';
export type { FullTextSearch, FullTextIndex, FullTextMatch } from './storage/full-text.js';
export {
  createBackup, restoreBackup, verifyBackup, listBackups, pruneBackups, deleteBackup, backupsToKeep, createFsBackupStore, backupDir, tableChecksums,
} from './backup/index.js';
export type {
  CreateBackupOptions, BackupProgress, BackupSource, RestoreOptions, RestoreReport, VerifyOptions, VerifyReport, PrunePolicy, PruneReport,
  BackupStore, BackupFileInfo, BackupInfo, BackupManifest, BackupFormat, TableChecksum,
} from './backup/index.js';
export { createWorker } from './jobs/worker.js';
export type { Worker, WorkerOptions } from './jobs/worker.js';
export type { JobQueue, JobPage } from './jobs/queue.js';
export type { DispatchedEvent } from './jobs/dispatcher.js';
export type { Job, JobState, JobContext, JobDefinition, JobDefinitions, SubscriberDefinitions, EnqueueOptions, JobQuery, Backoff } from './jobs/types.js';
export { jobStates } from './jobs/types.js';
export { JOBS_TABLE } from './jobs/migrations.js';
export { jobsModule, jobsPermissions } from './modules/jobs/index.js';
export type { JobsService } from './modules/jobs/index.js';
export { formatStreamMessage } from './event-stream.js';
export type { EventStream, StreamMessage } from './event-stream.js';
export type { HandlerResult } from './module.js';
export { realtimeModule, createRealtimeModule, defaultTopics } from './modules/realtime/index.js';
export type { RealtimeService, SubscribeOptions, ResetNotice, TopicDefinition, TopicDefinitions, TopicEvent, RealtimeModuleOptions } from './modules/realtime/index.js';
export {
  createCircuitBreaker, createCircuitBreakers, CircuitOpenError, OutboundTimeoutError, circuitStateValue, isPrivateAddress, assertPublicUrl,
} from './outbound/index.js';
export type { CircuitBreaker, CircuitBreakerOptions, CircuitCallOptions, CircuitState, CircuitBreakers } from './outbound/index.js';
export { deferJob, JobDeferral } from './jobs/defer.js';
export { notificationsModule, createNotificationsModule, notificationsPermissions, createDevSmsProvider, createHttpSmsProvider, SmsProviderError, defaultTemplates, defaultCategories, renderTemplate } from './modules/notifications/index.js';
export type {
  NotificationsModuleOptions, NotificationsService, SmsProvider, SmsMessage, TemplateDefinition, TemplateText, CategoryDefinition, Delivery, InAppNotification, Template, Preference, NotifyInput,
} from './modules/notifications/index.js';
export type { MailReceipt } from './mail/mail-transport.js';
export { webhooksModule, createWebhooksModule, webhooksPermissions, defaultWebhookEvents, newWebhookSecret, signWebhook, webhookHeaders } from './modules/webhooks/index.js';
export type { WebhooksModuleOptions, WebhooksService, WebhookEvent, EndpointInput, EndpointChanges, WebhookEndpoint, WebhookDelivery, WebhookAttempt } from './modules/webhooks/index.js';
