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
export type { Logger, LoggerConfig } from './logger.js';
export type { Migration, MigrationContext } from './migrations/migration.js';
export type { Migrator, MigrationStatus, MigrationResult } from './migrations/migrator.js';
export type { EventInput, OutboxEvent } from './outbox/outbox.js';
export { OUTBOX_TABLE } from './outbox/outbox.js';
export type { Storage, DialectName, ColumnTypes, PoolStats } from './storage/storage.js';
export { createStorage } from './storage/create-storage.js';
export { parseDatabaseUrl, redactUrl } from './storage/url.js';
export type { Registry } from './metrics.js';
export { builtinModules } from './modules/builtins.js';
export { auditModule } from './modules/audit/index.js';
export type { AuditService, AuditEvent, AuditEventInput, AuditContext } from './modules/audit/index.js';
export { identityModule, totpQrCode } from './modules/identity/index.js';
export type {
  IdentityService, IdentityCore, Caller, UserRow, AuthMethod, MfaService, MfaStatus, TotpEnrollment, ReencryptReport, ReencryptTableReport,
} from './modules/identity/index.js';
export { createSecretBox, parseEncryptionKeys, generateEncryptionKey } from './secrets/secret-box.js';
export type { SecretBox, EncryptionKey } from './secrets/secret-box.js';
export { createDevMailTransport, createSmtpMailTransport, createMemoryMailTransport } from './mail/mail-transport.js';
export type { MailTransport, MailMessage, MemoryMailTransport } from './mail/mail-transport.js';
export { accessModule } from './modules/access/index.js';
export type { AccessService, Role, Org, Member, OrgRole, Page, PageOptions, UserQuery, UserChanges } from './modules/access/index.js';
export type { ApiKeyService } from './modules/identity/api-keys.js';
