import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { type Actor, type AuthHooks, forbidden, unauthenticated } from './auth.js';
import { type Clock, systemClock } from './clock.js';
import { loadConfig, type PlinthConfig, type PlinthConfigInput } from './config.js';
import { PlinthError } from './errors.js';
import { createIdGenerator, type IdGenerator } from './ids.js';
import { createLogger, type Logger } from './logger.js';
import { createMetricsRegistry, type Registry } from './metrics.js';
import { createMigrator, type Migrator, type ModuleMigration } from './migrations/migrator.js';
import { type AnyModule, defineModule, type KernelContext, type RouteImplementation, type Tx } from './module.js';
import { orderModules } from './modules.js';
import { type EventInput, outboxMigration, writeOutboxEvent } from './outbox/outbox.js';
import { createReadCache } from './cache/read-cache.js';
import { createSharedLayer } from './cache/shared-layer.js';
import { cacheMetricsFor } from './cache/metrics.js';
import { createIdempotencyService, type IdempotencyService } from './idempotency/idempotency.js';
import { idempotencyMigration } from './idempotency/migration.js';
import { traceContextMigration } from './trace/migration.js';
import { jobMetricsFor } from './jobs/metrics.js';
import { outboxMetricsFor } from './outbox/metrics.js';
import { jobsClaimFunctionMigration, jobsLeanIndexesMigration, jobsMigration } from './jobs/migrations.js';
import { createJobQueue } from './jobs/queue.js';
import { buildJobRegistry } from './jobs/registry.js';
import { createStorage } from './storage/create-storage.js';
import type { Storage } from './storage/storage.js';
import { redactUrl } from './storage/url.js';
import { createRateLimiter, type RateLimiter } from './rate-limit/limiter.js';
import { createMemoryRateLimitStore } from './rate-limit/memory-store.js';
import { createRedisRateLimitStore } from './rate-limit/redis-store.js';
import type { RateLimitStore } from './rate-limit/store.js';
import { builtinModules } from './modules/builtins.js';
import { backupScheduleModule } from './backup/schedule.js';
import { createDevMailTransport, createSmtpMailTransport, type MailTransport } from './mail/mail-transport.js';
import { developmentKey } from './secrets/dev-key.js';
import { createCircuitBreakers } from './outbound/breakers.js';
import { createSecretBox, parseEncryptionKeys, type SecretBox } from './secrets/secret-box.js';
import { createAsyncSlot } from './async-slot.js';

export interface CreatePlinthOptions extends PlinthConfigInput {
  /** Application modules to load (dependencies are ordered first). */
  modules?: readonly AnyModule[];
  /** Built-in modules; default all of them (`builtinModules`), `false` for the bare kernel. */
  builtins?: readonly AnyModule[] | false;
  /** Time source; default the system clock. */
  clock?: Clock;
  /** A pino logger to use instead of Plinth's own. */
  logger?: Logger;
  /** Where mail goes; default from `mail` config (dev folder or SMTP). */
  mailTransport?: MailTransport;
  /** Where to read `PLINTH_*` variables from; default `process.env`, `false` to ignore them. */
  processEnv?: NodeJS.ProcessEnv | false;
}

export interface ReadinessCheck {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface Readiness {
  ok: boolean;
  checks: Record<string, ReadinessCheck>;
}

export interface Plinth extends KernelContext {
  /** Every module route, for the server to mount. */
  readonly routes: readonly RouteImplementation[];
  readonly migrator: Migrator;
  /** Prometheus registry of this instance. */
  readonly metrics: Registry;
  /** The Redis client when `redisUrl` is configured. */
  readonly redis: Redis | undefined;
  /** `Idempotency-Key` records (the server uses it for every POST sent with the header). */
  readonly idempotency: IdempotencyService;
  /** Per-IP, per-user, per-API-key and per-route limits (the server checks every request). */
  readonly rateLimiter: RateLimiter;
  /** Connects and, unless `migrate: false` (or `autoMigrate` is off), runs pending migrations. */
  start(options?: { migrate?: boolean }): Promise<void>;
  /** Checks the database and, when configured, Redis. */
  checkReadiness(timeoutMs?: number): Promise<Readiness>;
  /** Closes Redis and the database. Safe to call twice. */
  close(): Promise<void>;
}

/** The kernel's own module: the outbox, idempotency-key and job tables. */
export const kernelModule = defineModule({ name: 'kernel', migrations: [outboxMigration, idempotencyMigration, jobsMigration, traceContextMigration, jobsLeanIndexesMigration, jobsClaimFunctionMigration] });

/** `{ ...base, ...extra }` that keeps getters as getters (the secret box is created on first use). */
function extend<B extends object, E extends object>(base: B, extra: E): B & E {
  return Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(base), ...Object.getOwnPropertyDescriptors(extra) }) as B & E;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function timed(fn: () => Promise<unknown>, timeoutMs: number, what: string): Promise<ReadinessCheck> {
  const started = performance.now();
  try {
    await withTimeout(fn(), timeoutMs, what);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch {
    // The driver's own message may name hosts and ports: /readyz is public, so keep it generic.
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: `${what} does not answer` };
  }
}

/**
 * Creates a Plinth instance. Nothing connects until `start()` (or the first
 * query); configuration is validated here and a bad value throws at once.
 */
export function createPlinth(options: CreatePlinthOptions = {}): Plinth {
  const { modules: userModules = [], builtins = builtinModules, clock = systemClock, logger: givenLogger, processEnv, mailTransport, ...configInput } = options;
  const config: Readonly<PlinthConfig> = loadConfig(configInput, processEnv === false ? {} : (processEnv ?? process.env));
  const logger = givenLogger ?? createLogger({ level: config.logLevel });
  const scheduledBackups = backupScheduleModule(config);
  const modules = orderModules([kernelModule, ...(builtins || []), ...(scheduledBackups ? [scheduledBackups] : []), ...userModules]);
  const storage: Storage = createStorage(config);
  const ids: IdGenerator = createIdGenerator(clock);
  const migrations: ModuleMigration[] = modules.flatMap((m) => (m.migrations ?? []).map((migration) => ({ module: m.name, migration })));
  const migrator = createMigrator(storage, migrations, clock);
  const eventSchemas = new Map<string, z.ZodType>(modules.flatMap((m) => Object.entries(m.events ?? {})));
  const metrics = createMetricsRegistry(storage);
  jobMetricsFor(metrics, storage);
  outboxMetricsFor(metrics, storage, clock);
  const jobRegistry = buildJobRegistry(modules, eventSchemas);
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5000 })
    : undefined;
  let lastRedisError = 0;
  redis?.on('error', (error) => {
    // ioredis reconnects by itself; log at most every 10 s so an outage does not flood the log.
    if (Date.now() - lastRedisError > 10_000) logger.warn({ err: error.message }, 'redis connection error');
    lastRedisError = Date.now();
  });

  // Rate limits: a Redis connection of their own that fails fast while Redis is away (no offline
  // queue, a short command timeout), so a check never waits on an outage: `whenStoreDown` decides.
  const rateLimitOn = config.rateLimit.enabled ?? config.env === 'production';
  const rateLimitRedis =
    rateLimitOn && redis && config.rateLimit.store !== 'memory'
      ? redis.duplicate({ lazyConnect: true, enableOfflineQueue: false, commandTimeout: config.rateLimit.redisTimeoutMs, maxRetriesPerRequest: 0 })
      : undefined;
  rateLimitRedis?.on('error', () => {}); // reported by the limiter, once per interval
  const rateLimitStore: RateLimitStore | undefined = !rateLimitOn
    ? undefined
    : rateLimitRedis
      ? createRedisRateLimitStore(rateLimitRedis, { ownsClient: true, leaseFraction: config.rateLimit.leaseFraction })
      : createMemoryRateLimitStore({ clock, maxKeys: config.rateLimit.maxKeys });
  const rateLimiter = createRateLimiter({ config, store: rateLimitStore, logger: logger.child({ component: 'rate-limit' }), metrics, clock });

  const currentTx = createAsyncSlot<Tx>();
  // SQLite: concurrent transactions share a commit (each in its own savepoint); elsewhere one each.
  const runTransaction = <T>(fn: (trx: Kysely<any>) => Promise<T>): Promise<T> =>
    storage.batchedTransaction ? storage.batchedTransaction(fn) : storage.db.transaction().execute(fn);
  let openTransactions = 0;
  const services = new Map<string, unknown>();
  let started = false;
  let closed = false;

  const makeTx = (trx: Kysely<any>, tags: Set<string>): Tx => ({
    db: trx,
    emit: async (event: EventInput) => {
      const written = await writeOutboxEvent(trx, { storage, clock, ids, schemas: eventSchemas }, event);
      // What the commit changes, for the shared cache: the event's aggregate, and its collection.
      if (written.aggregateType) tags.add(written.aggregateType).add(`${written.aggregateType}:${written.aggregateId}`);
      jobs.notifyEmitted(); // wakes this process's dispatcher (it waits for the commit like any reader)
      return written;
    },
    emitted: (events) => {
      for (const { aggregate } of events) if (aggregate) tags.add(aggregate.type).add(`${aggregate.type}:${aggregate.id}`);
      if (events.length) jobs.notifyEmitted();
    },
  });

  // Inside a transaction, `db` is that transaction: a query through it can
  // neither escape the transaction nor wait forever for SQLite's one connection.
  const db = new Proxy(storage.db, {
    get(target, prop) {
      const active = currentTx.get()?.db ?? target;
      const value = Reflect.get(active, prop, active);
      return typeof value === 'function' ? value.bind(active) : value;
    },
  });

  let secretBox: SecretBox | undefined;
  const secrets = (): SecretBox => {
    if (secretBox) return secretBox;
    let entries = config.encryptionKeys;
    if (entries.length === 0) {
      const dev = developmentKey(config.databaseUrl);
      if (dev.created) logger.warn({ path: dev.path }, 'generated a development encryption key; set encryptionKeys in production');
      entries = [dev.entry];
    }
    secretBox = createSecretBox(parseEncryptionKeys(entries));
    return secretBox;
  };
  const jobs = createJobQueue({ storage, db, clock, ids, config, registry: jobRegistry, transaction: (fn) => kernel.transaction(() => fn()) });
  const breakers = createCircuitBreakers({ registry: metrics, clock, defaults: config.outbound });
  const mail =
    mailTransport ??
    (config.mail.transport === 'smtp' ? createSmtpMailTransport(config.mail.smtpUrl!, config.mail.from, { timeoutMs: config.outbound.timeoutMs }) : createDevMailTransport(config.mail.devDir, config.mail.from));

  // The shared cache: commands that fail fast (a read falls back to the database), and a subscriber.
  const cacheRedis = redis ? redis.duplicate({ lazyConnect: true, enableOfflineQueue: false, commandTimeout: 250, maxRetriesPerRequest: 0 }) : undefined;
  const cacheSubscriber = redis ? redis.duplicate({ lazyConnect: true }) : undefined;
  cacheRedis?.on('error', () => {}); // reported by the cache, once per interval
  const shared =
    cacheRedis && cacheSubscriber
      ? createSharedLayer({
          redis: cacheRedis,
          subscriber: cacheSubscriber,
          prefix: config.cache.keyPrefix,
          ttlMs: config.cache.ttlSeconds * 1000,
          logger: logger.child({ component: 'cache' }),
          onRemoteInvalidation: (tags) => cache.remoteInvalidated(tags),
        })
      : undefined;
  const cache = createReadCache({
    storage,
    clock,
    maxEntries: config.cache.maxEntries,
    maxAgeMs: config.cache.maxAgeMs,
    inTransaction: () => openTransactions > 0 && currentTx.get() !== undefined,
    shared,
    sharedTtlMs: config.cache.ttlSeconds * 1000,
    logger: logger.child({ component: 'cache' }),
  });
  cacheMetricsFor(metrics, cache.stats);

  const kernel: KernelContext = {
    config,
    modules,
    storage,
    db,
    cache,
    get secrets() {
      return secrets();
    },
    mail,
    jobs,
    breakers,
    clock,
    ids,
    logger,
    metrics,
    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      const outer = currentTx.get();
      if (outer) return fn(outer);
      openTransactions++;
      const tags = new Set<string>();
      try {
        const result = await runTransaction((trx) => {
          const tx = makeTx(trx, tags);
          return currentTx.run(tx, () => fn(tx));
        });
        // Committed: shared entries on what changed are stale before this call returns.
        if (tags.size && shared) await cache.invalidate([...tags]);
        return result;
      } finally {
        openTransactions--;
      }
    },
    emit(event) {
      const tx = currentTx.get();
      if (!tx) {
        return Promise.reject(
          new PlinthError('outbox.outside_transaction', 'emit() must be called inside plinth.transaction(): events commit with their data'),
        );
      }
      return tx.emit(event);
    },
    service<S>(name: string): S {
      if (!services.has(name)) throw new PlinthError('modules.invalid', `No module "${name}" with services is loaded`);
      return services.get(name) as S;
    },
    optionalService: <S>(name: string) => services.get(name) as S | undefined,
    authenticate: (credentials) => hooks.authenticate(credentials),
    authenticateNow: (credentials) => (hooks.authenticateNow && hookOwners.authenticateNow === hookOwners.authenticate ? hooks.authenticateNow(credentials) : undefined),
    async can(actor, permission, resource) {
      if (actor?.kind === 'system') return true;
      return hooks.can(actor, permission, resource);
    },
    async authorize(actor, permission, resource) {
      if (await kernel.can(actor, permission, resource)) return;
      throw actor ? forbidden() : unauthenticated();
    },
  };

  // Closed by default: without an authenticating module nobody signs in; without a policy, nothing is allowed.
  const hooks: AuthHooks = {
    authenticate: async (credentials) => {
      if (credentials.authorization || credentials.apiKey) throw unauthenticated('No module here accepts credentials');
      return null;
    },
    can: async (_actor: Actor | null) => false,
  };
  const hookOwners: Partial<Record<keyof AuthHooks, string>> = {};
  const startHooks: (() => Promise<void>)[] = [];
  const closeHooks: (() => Promise<void>)[] = [];
  for (const m of modules) {
    const moduleKernel = extend(kernel, { logger: logger.child({ module: m.name }) });
    if (m.onStart) startHooks.push(() => m.onStart!(moduleKernel));
    if (m.onClose) closeHooks.unshift(() => m.onClose!(moduleKernel));
    if (m.services) services.set(m.name, m.services(moduleKernel));
    for (const [name, hook] of Object.entries(m.auth?.(moduleKernel) ?? {}) as [keyof AuthHooks, never][]) {
      if (!hook) continue;
      if (hookOwners[name]) throw new PlinthError('modules.invalid', `Both "${hookOwners[name]}" and "${m.name}" provide auth.${name}`);
      hookOwners[name] = m.name;
      hooks[name] = hook;
    }
  }

  const plinth: Plinth = extend(kernel, {
    routes: modules.flatMap((m) => m.routes ?? []),
    migrator,
    metrics,
    redis,
    idempotency: createIdempotencyService(kernel),
    rateLimiter,
    async start(startOptions: { migrate?: boolean } = {}) {
      if (closed) throw new PlinthError('service.unavailable', 'This Plinth instance is closed');
      if (started) return;
      await storage.ping();
      if (startOptions.migrate ?? config.autoMigrate) {
        const { ids: applied } = await migrator.up();
        if (applied.length) logger.info({ migrations: applied }, 'migrations applied');
      }
      if (!(await migrator.pending()).length) for (const hook of startHooks) await hook();
      if (redis && redis.status === 'wait') {
        // Redis is not required to boot: /readyz reports it, and ioredis keeps reconnecting.
        await redis.connect().catch((error: Error) => logger.warn({ err: error.message }, 'redis is not reachable yet'));
      }
      for (const client of [cacheRedis, cacheSubscriber]) if (client && client.status === 'wait') await client.connect().catch(() => {});
      if (rateLimitRedis && rateLimitRedis.status === 'wait') await rateLimitRedis.connect().catch(() => {}); // keeps retrying by itself
      started = true;
      logger.debug({ database: redactUrl(config.databaseUrl), dialect: storage.dialect }, 'plinth started');
    },
    async checkReadiness(timeoutMs = 2000) {
      const checks: Record<string, ReadinessCheck> = {};
      const pending: Promise<void>[] = [
        timed(() => storage.ping(), timeoutMs, 'The database').then((c) => {
          checks.database = c;
        }),
      ];
      if (redis) {
        pending.push(
          timed(() => redis.ping(), timeoutMs, 'Redis').then((c) => {
            checks.redis = c;
          }),
        );
      }
      await Promise.all(pending);
      return { ok: Object.values(checks).every((c) => c.ok), checks };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const hook of closeHooks) {
        await hook().catch((error: unknown) => logger.error({ err: error }, 'a module failed to close'));
      }
      if (redis) {
        if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
        else redis.disconnect();
      }
      await rateLimiter.close();
      await shared?.close();
      await mail.close?.();
      await storage.close();
    },
  });
  return plinth;
}
