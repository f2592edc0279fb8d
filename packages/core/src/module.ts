import type { IncomingHttpHeaders } from 'node:http';
import type { Actor, AuthHooks, Credentials, ResourceRef } from './auth.js';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { ReadCache } from './cache/read-cache.js';
import type { PreparedJson } from './prepared-json.js';
import type { Clock } from './clock.js';
import type { PlinthConfig } from './config.js';
import type { HandlerResponse, RouteBody, RouteDef, RouteParams, RouteQuery, RouteResponse } from './contract/route.js';
import type { EventStream } from './event-stream.js';
import type { IdGenerator } from './ids.js';
import type { Logger } from './logger.js';
import type { Registry } from './metrics.js';
import type { MailTransport } from './mail/mail-transport.js';
import type { CircuitBreakers } from './outbound/breakers.js';
import type { EncryptedColumn } from './secrets/encrypted-column.js';
import type { SecretBox } from './secrets/secret-box.js';
import type { Migration } from './migrations/migration.js';
import type { EventInput, OutboxEvent } from './outbox/outbox.js';
import type { JobQueue } from './jobs/queue.js';
import type { JobDefinitions, SubscriberDefinitions } from './jobs/types.js';
import type { Storage } from './storage/storage.js';

/** A transaction: its connection and the outbox, which commits or rolls back with it. */
export interface Tx {
  db: Kysely<any>;
  /** Records an event in the outbox, inside this transaction. */
  emit(event: EventInput): Promise<OutboxEvent>;
  /**
   * Accounts for events that a statement of this transaction wrote to the outbox itself (a
   * database function writing rows and their events in one call), as `emit` does for its own:
   * the commit invalidates their aggregates in the shared cache, and this process's dispatcher
   * is woken. The rows must be what `emit` would write: declared types, valid payloads, ids from `kernel.ids`.
   */
  emitted(events: readonly { aggregate?: { type: string; id: string } | undefined }[]): void;
}

/** What every module's services and handlers are given by the kernel. */
export interface KernelContext {
  readonly config: Readonly<PlinthConfig>;
  /** The loaded modules, dependencies first (the policy reads their permission declarations). */
  readonly modules: readonly AnyModule[];
  readonly storage: Storage;
  /** The database; inside `transaction()`, the current transaction. */
  readonly db: Kysely<any>;
  /** In-process cache for hot reads, dropped by any write (see `ReadCache`). */
  readonly cache: ReadCache;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  /** The instance's Prometheus registry (`GET /metrics`): modules register their own metrics here. */
  readonly metrics: Registry;
  /** Encrypts secrets at rest (AES-256-GCM, rotating keys). */
  readonly secrets: SecretBox;
  /** Outgoing mail. */
  readonly mail: MailTransport;
  /** The job queue: `jobs.enqueue(type, payload, options)` joins the current transaction. */
  readonly jobs: JobQueue;
  /** A circuit breaker (with a timeout) per outbound destination; state in `plinth_circuit_state`. */
  readonly breakers: CircuitBreakers;
  /** Runs `fn` in a transaction; a call inside another transaction joins it. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Records an event in the outbox of the current transaction; throws outside one. */
  emit(event: EventInput): Promise<OutboxEvent>;
  /** The services of a module, by name; throws `modules.invalid` when it is not loaded. */
  service<S = unknown>(moduleName: string): S;
  /** The services of a module when it is loaded, else `undefined` (for optional collaborations). */
  optionalService<S = unknown>(moduleName: string): S | undefined;
  /** Resolves credentials to an actor (the `identity` module's hook). */
  authenticate: AuthHooks['authenticate'];
  /** `authenticate`, when the identity module can answer synchronously (a token it verified before); else `undefined`. */
  authenticateNow(credentials: Credentials): Actor | undefined;
  /** The one policy point (the `access` module's hook); the system actor may do anything. */
  can(actor: Actor | null, permission: string, resource?: ResourceRef): Promise<boolean>;
  /** `can`, or throw 401 (no actor) / 403 `auth.forbidden`. */
  authorize(actor: Actor | null, permission: string, resource?: ResourceRef): Promise<void>;
}

/** What a route handler receives: validated input plus the kernel. */
export interface HandlerContext<R extends RouteDef> {
  params: RouteParams<R>;
  query: RouteQuery<R>;
  body: RouteBody<R>;
  /** The body's exact text, on routes declared with `rawBody: true` (to verify a signature over it). */
  rawBody?: string | undefined;
  headers: IncomingHttpHeaders;
  requestId: string;
  /**
   * W3C Trace Context of this request: the caller's trace continued with a new span (or a new
   * trace). Send `trace.traceparent` on outgoing calls; the request's log lines carry `traceId`.
   */
  readonly trace: { traceId: string; spanId: string; parentId: string | undefined; traceparent: string };
  /** The caller; `null` only on `public`/`optional` routes called without credentials. */
  actor: Actor | null;
  /** Client address (from `X-Forwarded-For` only when `http.trustProxy` is on). */
  ip: string;
  log: Logger;
  kernel: KernelContext;
  /** Adds a response header. */
  setHeader(name: string, value: string): void;
  /** Aborted when the client goes away or the server shuts down (long answers such as event streams stop on it). */
  readonly signal: AbortSignal;
}

/** What a handler answers: the route's response, a `StreamedBody` on `stream` routes, or an `EventStream` on `event-stream` routes. */
export type HandlerResult<R extends RouteDef> = R['responseType'] extends 'event-stream' ? EventStream : HandlerResponse<R>;

/** A handler answers its result, or the response already checked and serialized (`prepareJson`). */
export type RouteHandler<R extends RouteDef> = (
  ctx: HandlerContext<R>,
) => Promise<HandlerResult<R> | PreparedJson<RouteResponse<R>>> | HandlerResult<R> | PreparedJson<RouteResponse<R>>;

export interface RouteImplementation<R extends RouteDef = RouteDef> {
  route: R;
  handler: RouteHandler<R>;
}

export interface PermissionDeclaration {
  description: string;
  /** Built-in roles granted this permission (besides `admin`, which has all). */
  grantedTo?: readonly ('staff' | 'customer')[];
}

/** Pairs a contract route with its handler; the handler's types come from the route's schemas. */
export function implement<R extends RouteDef>(route: R, handler: RouteHandler<R>): RouteImplementation<R> {
  return { route, handler };
}

/**
 * A Plinth module: the unit every built-in feature and every application
 * extension is made of.
 */
export interface ModuleDefinition<Services = unknown> {
  /** Lower-case name, unique in the app: `identity`, `wishlists`. */
  name: string;
  /** Modules that must be loaded (and migrated) before this one. */
  dependsOn?: readonly string[];
  /** Ordered, reversible migrations; ids are `name/migration.name`. */
  migrations?: readonly Migration[];
  /** Event types this module emits, with their payload schemas. */
  events?: Readonly<Record<string, z.ZodType>>;
  /**
   * Permissions this module checks (`resource:action`), with the built-in roles
   * that hold them by default (`admin` holds every permission).
   */
  permissions?: Readonly<Record<string, PermissionDeclaration>>;
  /** HTTP routes the server mounts for this module. */
  routes?: readonly RouteImplementation<any>[];
  /**
   * Job types this module declares: name → `{ handler, payload?, maxAttempts?, queue?, backoff?,
   * timeoutMs?, cron? }`. Handlers run in workers, outside any transaction, and must be idempotent.
   */
  jobs?: JobDefinitions;
  /** Outbox event type → job type(s): each committed event becomes one job per subscriber, in order per aggregate. */
  subscribers?: SubscriberDefinitions;
  /** Builds the module's services from the kernel (called once, in `createPlinth`). */
  services?: (kernel: KernelContext) => Services;
  /** Runs in `plinth.start()` after migrations, in module order (warm caches, ensure keys...). */
  onStart?: (kernel: KernelContext) => Promise<void>;
  /** Runs in `plinth.close()` before the database closes, in reverse module order (stop timers...). */
  onClose?: (kernel: KernelContext) => Promise<void>;
  /** Authentication and policy hooks this module provides (at most one module each). */
  auth?: (kernel: KernelContext) => Partial<AuthHooks>;
  /** Columns this module stores encrypted with `kernel.secrets`, re-encrypted by `plinth keys rotate-encryption`; default none. */
  encryptedColumns?: readonly EncryptedColumn[];
}

export type AnyModule = ModuleDefinition<any>;

/** Declares a module; checked for consistency when the app is created. */
export function defineModule<const M extends ModuleDefinition<any>>(module: M): M {
  return module;
}
