import { z } from 'zod';
import { PlinthError } from './errors.js';
import { nextTick } from './jobs/cron.js';

const isCronExpression = (expression: string): boolean => {
  try {
    nextTick(expression, 0);
    return true;
  } catch {
    return false;
  }
};

/** Default database: a SQLite file under `./.plinth/`, created on first run. */
export const DEFAULT_DATABASE_URL = 'sqlite:./.plinth/plinth.db';

const databaseUrl = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((url) => /^(sqlite:|file:|postgres(ql)?:\/\/)/i.test(url) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url), {
    message: 'must be a SQLite path (sqlite:./file.db, file:..., ./file.db) or a postgres:// URL',
  });

/** `true`/`false` (and `1`/`0`, `yes`/`no`, `on`/`off` as strings); anything else is rejected, not coerced to true. */
const bool = z.preprocess((v) => (typeof v === 'string' ? parseBool(v) : v), z.boolean('must be true or false'));

const port = z.coerce.number({ message: 'must be a port number (0-65535)' }).int('must be a whole number').min(0).max(65535);

const csv = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(z.string().min(1)),
);

/** A rate as `limit/periodSeconds` (`"10/60"`) or `{ limit, periodSeconds }`. */
const rate = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*s?\s*$/.exec(v);
    return m ? { limit: Number(m[1]), periodSeconds: Number(m[2]) } : v;
  },
  z
    .object({
      /** Requests allowed per period (and at once). */
      limit: z.coerce.number().int().min(1).max(10_000_000),
      /** The period in seconds. */
      periodSeconds: z.coerce.number().int().min(1).max(86_400),
    }, { message: 'must be "limit/periodSeconds" (e.g. "10/60") or { limit, periodSeconds }' })
    .strict(),
);

export const configSchema = z
  .object({
    /** Database URL; default `sqlite:./.plinth/plinth.db`. */
    databaseUrl: databaseUrl.default(DEFAULT_DATABASE_URL),
    /** Redis URL (`redis://...`); unset means no Redis. */
    redisUrl: z
      .string()
      .trim()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    /** `development` (default) or `production`. */
    env: z.enum(['development', 'production']).default('development'),
    /** pino level; default `info`. */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Keys that encrypt secrets at rest (AES-256-GCM), as `id:base64-of-32-bytes`, current key first;
     * older keys still decrypt. Required in production; in development a key is generated into `./.plinth/`.
     */
    encryptionKeys: csv.pipe(z.array(z.string().regex(/^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=_-]{43,44}$/, 'must be id:base64 of 32 bytes'))).default([]),
    /** Public URL of the app, for links in emails; default `http://127.0.0.1:8080`. */
    appUrl: z.url({ message: 'must be a URL' }).default('http://127.0.0.1:8080'),
    auth: z
      .object({
        /** `iss` of access tokens; default `plinth`. */
        issuer: z.string().min(1).default('plinth'),
        /** `aud` of access tokens; default `plinth-api`. */
        audience: z.string().min(1).default('plinth-api'),
        /** Access-token lifetime in seconds; default 900 (15 min). */
        accessTokenTtlSeconds: z.coerce.number().int().min(30).max(86_400).default(900),
        /** Refresh-token (session) lifetime in seconds; default 30 days. */
        refreshTokenTtlSeconds: z.coerce.number().int().min(300).max(31_536_000).default(2_592_000),
        /** How long the just-rotated refresh token still works (two tabs refreshing at once); default 10 s. */
        refreshReuseGraceSeconds: z.coerce.number().int().min(0).max(120).default(10),
        /** Argon2id memory in KiB; default 19456 (OWASP). */
        passwordMemoryKib: z.coerce.number().int().min(8192).max(1_048_576).default(19_456),
        /** Argon2id iterations; default 2 (OWASP). */
        passwordIterations: z.coerce.number().int().min(1).max(20).default(2),
        /** Failed sign-ins on one account before it locks; default 5. */
        lockoutAccountFailures: z.coerce.number().int().min(1).max(1000).default(5),
        /** Failed sign-ins from one IP before it locks; default 50. */
        lockoutIpFailures: z.coerce.number().int().min(1).max(100_000).default(50),
        /** Window in which failures count, in seconds; default 900. */
        lockoutWindowSeconds: z.coerce.number().int().min(1).max(86_400).default(900),
        /** First lockout in seconds, doubling on each further lockout; default 60. */
        lockoutBaseSeconds: z.coerce.number().int().min(1).max(86_400).default(60),
        /** Longest lockout in seconds; default 3600. */
        lockoutMaxSeconds: z.coerce.number().int().min(1).max(604_800).default(3600),
        /** Email-verification link lifetime in seconds; default 24 h. */
        verifyEmailTtlSeconds: z.coerce.number().int().min(60).max(604_800).default(86_400),
        /** Password-reset link lifetime in seconds; default 1 h. */
        passwordResetTtlSeconds: z.coerce.number().int().min(60).max(86_400).default(3600),
        /** OpenID Connect providers by name (`/v1/auth/oidc/:provider/...`). */
        oidc: z
          .record(
            z.string().regex(/^[a-z0-9-]{1,32}$/),
            z
              .object({
                issuer: z.url(),
                clientId: z.string().min(1),
                clientSecret: z.string().min(1).optional(),
                /** Where the provider sends the browser back; default `${appUrl}/v1/auth/oidc/<name>/callback`. */
                redirectUri: z.url().optional(),
                scopes: z.array(z.string()).default(['openid', 'email', 'profile']),
              })
              .strict(),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    mail: z
      .object({
        /** `dev` (default: writes messages to `devDir`) or `smtp`. */
        transport: z.enum(['dev', 'smtp']).default('dev'),
        /** SMTP URL for `smtp`, e.g. `smtps://user:pass@smtp.example.com`. */
        smtpUrl: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
        /** Sender address; default `Plinth <no-reply@localhost>`. */
        from: z.string().min(3).default('Plinth <no-reply@localhost>'),
        /** Folder of the dev transport; default `./.plinth/mail`. */
        devDir: z.string().min(1).default('./.plinth/mail'),
      })
      .strict()
      .refine((m) => m.transport !== 'smtp' || m.smtpUrl, { message: 'smtpUrl is required with the smtp transport', path: ['smtpUrl'] })
      .prefault({}),
    backup: z
      .object({
        /** Folder of `plinth backup`; default `backups/` beside the SQLite file (`./.plinth/backups`), or `./.plinth/backups`. */
        dir: z.string().min(1).optional(),
        /** Back up on this cron schedule (UTC, e.g. `0 3 * * *`) from a worker; default none. */
        schedule: z
          .string()
          .refine((expression) => isCronExpression(expression), 'must be a cron expression such as "0 3 * * *"')
          .optional(),
        /** Format of scheduled backups; default `logical`. */
        format: z.enum(['logical', 'native']).default('logical'),
        /** After a scheduled backup, keep the newest N backups (with keepDaily: either rule keeps one); default keep all. */
        keepLast: z.coerce.number().int().min(1).optional(),
        /** After a scheduled backup, keep the newest backup of each of the last D days; default keep all. */
        keepDaily: z.coerce.number().int().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** Run pending migrations in `start()`; default true. */
    autoMigrate: bool.default(true),
    database: z
      .object({
        /** PostgreSQL pool size; default 10. */
        poolMax: z.coerce.number().int().min(1).max(1000).default(10),
        /** SQLite busy timeout in ms; default 5000. */
        busyTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(5000),
        /**
         * SQLite `synchronous`: `full` (default: a commit that returned survives a power cut; one
         * fsync per commit) or `normal` (WAL-safe, faster commits; a power cut may lose the last ones).
         */
        sqliteSynchronous: z.enum(['full', 'normal']).default('full'),
      })
      .strict()
      .prefault({}),
    cache: z
      .object({
        /** Entries kept by the in-process read cache (`kernel.cache`); 0 turns it off. Default 10000. */
        maxEntries: z.coerce.number().int().min(0).max(10_000_000).default(10_000),
        /**
         * How long another process's PostgreSQL write can go unseen by the read cache, in ms;
         * default 1000 (0 turns the cache off). An entry older than this is served only while the
         * server's commit watermark (WAL insert position) is unchanged since it was loaded, read at
         * most every maxAgeMs / 2, or while a bulk check of its kind finds it unchanged (product
         * answers: version and stock; docs/performance.md). Writes through this process and, on SQLite, commits by any
         * other process invalidate at once, so SQLite entries have no age limit.
         */
        maxAgeMs: z.coerce.number().int().min(0).max(3_600_000).default(1000),
        /**
         * Lifetime of shared (Redis) entries in seconds; default 60. Commits invalidate them at once; this
         * bounds an entry whose invalidation could not reach Redis.
         */
        ttlSeconds: z.coerce.number().int().min(1).max(86_400).default(60),
        /** Prefix of the shared cache's Redis keys and channel; default `plinth:cache:`. */
        keyPrefix: z.string().min(1).max(100).default('plinth:cache:'),
      })
      .strict()
      .prefault({}),
    rateLimit: z
      .object({
        /** Whether requests are rate limited; default on when `env` is `production`, off in development. */
        enabled: bool.optional(),
        /** `auto` (default: Redis when `redisUrl` is set, else memory), `memory` (one process) or `redis`. */
        store: z.enum(['auto', 'memory', 'redis']).default('auto'),
        /** What happens when the Redis store does not answer: `failOpen` (default: allow, unlimited) or `failClosed` (503). */
        whenStoreDown: z.enum(['failOpen', 'failClosed']).default('failOpen'),
        /** Per client IP, on every route; default 600/60. */
        perIp: rate.default({ limit: 600, periodSeconds: 60 }),
        /** Per signed-in user, on every route; default 1200/60. */
        perUser: rate.default({ limit: 1200, periodSeconds: 60 }),
        /** Per API key, on every route; default 3000/60. */
        perApiKey: rate.default({ limit: 3000, periodSeconds: 60 }),
        /**
         * Extra limits by route (`"POST /v1/auth/sign-in"`), per caller (user or key, else IP), on top of the
         * built-in ones for sign-in, sign-up, password reset and MFA; `false` removes a built-in one.
         */
        routes: z.record(z.string().regex(/^(GET|POST|PUT|PATCH|DELETE) \/\S*$/, 'must be "METHOD /path" as declared by the route'), z.union([z.literal(false), rate])).default({}),
        /** How long a Redis check may take before the store counts as down, in ms; default 250. */
        redisTimeoutMs: z.coerce.number().int().min(10).max(60_000).default(250),
        /**
         * Redis store: the fraction of a bucket's limit one process may take in one call and spend
         * locally for up to a second (0–0.5; default 0.01, 0 = one script call per check). Leased
         * requests are charged in Redis when taken, so the limit holds across processes; a caller
         * spread over processes may be refused up to `leaseFraction × limit` requests early per
         * process. Limits under 100 (with the default) are never leased: sign-in stays exact.
         */
        leaseFraction: z.coerce.number().min(0).max(0.5).default(0.01),
        /** Buckets kept by the memory store (least recently seen dropped first); default 100000. */
        maxKeys: z.coerce.number().int().min(100).max(100_000_000).default(100_000),
        /** Prefix of the bucket keys in Redis; default `plinth:rl:` (change it to share one Redis between apps). */
        keyPrefix: z.string().min(1).max(100).default('plinth:rl:'),
        /** At most one "store down" log line per this many ms; default 30000. */
        logIntervalMs: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
      })
      .strict()
      .prefault({}),
    orders: z
      .object({
        /** Minutes an unpaid order holds its stock before it expires; default 30. */
        expiryMinutes: z.coerce.number().int().min(1).max(43_200).default(30),
      })
      .strict()
      .prefault({}),
    jobs: z
      .object({
        /** How long a claimed job stays leased without a heartbeat, in seconds; default 30. A dead worker's jobs are taken over after it. */
        leaseSeconds: z.coerce.number().int().min(1).max(3600).default(30),
        /** How often an idle worker looks for due jobs, in ms (PostgreSQL also wakes it by LISTEN/NOTIFY); default 1000. */
        pollIntervalMs: z.coerce.number().int().min(10).max(600_000).default(1000),
        /** Jobs a worker runs at once; default 10. */
        concurrency: z.coerce.number().int().min(1).max(1000).default(10),
        /** Attempts of a job type that does not set its own; default 5. */
        maxAttempts: z.coerce.number().int().min(1).max(1000).default(5),
        /** How long a stopping worker waits for its running jobs before releasing them, in ms; default 10000. */
        shutdownTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
        /** Completed and cancelled jobs are deleted after this many seconds (dead ones are kept); default 7 days. */
        keepCompletedSeconds: z.coerce.number().int().min(60).max(31_536_000).default(604_800),
        /**
         * PostgreSQL: wait for the WAL flush when a worker records claims and completions; default
         * false (asynchronous commit for that bookkeeping only: after a database crash a job whose
         * completion was lost runs again, as jobs may anyway). Enqueues always commit with their transaction.
         */
        synchronousCommit: bool.default(false),
      })
      .strict()
      .prefault({}),
    realtime: z
      .object({
        /** Seconds between heartbeat comments on an idle event stream (keeps proxies from closing it); default 15. */
        heartbeatSeconds: z.coerce.number().int().min(1).max(300).default(15),
        /** Hours an event stays in the realtime log for reconnects to replay; default 24. */
        retentionHours: z.coerce.number().int().min(1).max(8760).default(24),
        /** How often a stream looks for events written by other processes without a signal, in ms; default 1000. */
        pollIntervalMs: z.coerce.number().int().min(10).max(600_000).default(1000),
        /** A client that takes no data for this long while its send buffer is full is disconnected, in ms; default 30000. */
        writeTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(30_000),
        /** Event streams one process holds at most (more answer 503); default 10000. */
        maxConnections: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        /** Interface to bind; default 127.0.0.1. */
        host: z.string().trim().min(1).default('127.0.0.1'),
        /** Port; default 8080 (0 picks a free one). */
        port: port.default(8080),
        /** Largest accepted request body in bytes; default 1 MiB. */
        bodyLimit: z.coerce.number().int().min(1).max(1024 * 1024 * 1024).default(1024 * 1024),
        /** Origins allowed by CORS (`*` for any); default none. */
        corsOrigins: csv.default([]),
        /** How long graceful shutdown waits for in-flight requests, in ms; default 10000. */
        shutdownTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
        /** Trust `X-Forwarded-For` from a proxy in front; default false. */
        trustProxy: bool.default(false),
      })
      .strict()
      .prefault({}),
    analytics: z
      .object({
        /** IANA time zone of the daily and hourly rollups (`Europe/Paris`); default `UTC`. Changing it takes `plinth reports rebuild`. */
        timezone: z
          .string()
          .trim()
          .min(1)
          .default('UTC')
          .refine(isTimeZone, { message: 'must be an IANA time zone such as UTC or Europe/Paris' }),
      })
      .strict()
      .prefault({}),
    payments: z
      .object({
        /** Signing secret of the built-in fake payment provider; default derived from the encryption key. Never logged. */
        fakeSecret: z.string().min(16).optional(),
      })
      .strict()
      .prefault({}),
    outbound: z
      .object({
        /** Timeout of every outbound call (SMTP, SMS provider, webhook endpoints), in ms; default 10000. */
        timeoutMs: z.coerce.number().int().min(1).max(600_000).default(10_000),
        /** Consecutive failures that open a destination's circuit breaker; default 5. */
        failureThreshold: z.coerce.number().int().min(1).max(10_000).default(5),
        /** Share of failed calls among the last 20 (once 10 ran) that opens the breaker; default 0.5. */
        failureRate: z.coerce.number().gt(0).max(1).default(0.5),
        /** How long an open breaker defers calls before a half-open probe, in ms; default 30000. */
        openMs: z.coerce.number().int().min(0).max(86_400_000).default(30_000),
      })
      .strict()
      .prefault({}),
    notifications: z
      .object({
        /** How long a request waits for a transactional email (verification, reset) before leaving it to the queue, in ms; default 250. */
        inlineWaitMs: z.coerce.number().int().min(0).max(60_000).default(250),
        /** Attempts of a failing send before it is marked failed; default 8. */
        maxAttempts: z.coerce.number().int().min(1).max(100).default(8),
        /** First retry delay of a failed send, in ms (doubling, with jitter, capped at 1 h); default 5000. */
        retryBaseMs: z.coerce.number().int().min(1).max(3_600_000).default(5000),
        /** SMS transport: `dev` (default: writes messages to `smsDevDir`) or `http` (POSTs to `smsUrl`). */
        smsTransport: z.enum(['dev', 'http']).default('dev'),
        /** The HTTP SMS provider's send URL (`http` transport). */
        smsUrl: z.url({ message: 'must be a URL' }).optional(),
        /** Bearer token of the HTTP SMS provider; never logged. */
        smsToken: z.string().min(1).optional(),
        /** Sender id or number of SMS; default `Plinth`. */
        smsFrom: z.string().min(1).max(32).default('Plinth'),
        /** Folder of the dev SMS transport; default `./.plinth/sms`. */
        smsDevDir: z.string().min(1).default('./.plinth/sms'),
      })
      .strict()
      .refine((n) => n.smsTransport !== 'http' || n.smsUrl, { message: 'smsUrl is required with the http SMS transport', path: ['smsUrl'] })
      .prefault({}),
    webhooks: z
      .object({
        /** Allow endpoints on loopback, private and link-local addresses (development, tests); default false. */
        allowPrivate: bool.default(false),
        /** Timeout of one delivery attempt, in ms; default 15000. */
        timeoutMs: z.coerce.number().int().min(1).max(600_000).default(15_000),
        /** Delays before the retries of a failed delivery, in ms; default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Svix's schedule). */
        retryScheduleMs: z
          .preprocess(
            (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean).map(Number) : v),
            z.array(z.number().int().min(0).max(604_800_000)).min(1).max(50),
          )
          .default([5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
        /** Consecutive failed attempts (no success in between) after which an endpoint is disabled; default 50. */
        disableAfterFailures: z.coerce.number().int().min(1).max(100_000).default(50),
        /** How long the previous secret still signs after a rotation, in seconds; default 86400 (24 h). */
        secretOverlapSeconds: z.coerce.number().int().min(0).max(2_592_000).default(86_400),
        /** Characters of a receiver's answer kept in the attempt log; default 2048. */
        responseMaxChars: z.coerce.number().int().min(0).max(65_536).default(2048),
      })
      .strict()
      .prefault({}),
    idempotency: z
      .object({
        /** How long an `Idempotency-Key` and its answer are kept, in seconds; default 86400 (24 h). */
        ttlSeconds: z.coerce.number().int().min(1).max(2_592_000).default(86_400),
        /** How long a request holds its key before another may take it over (a crashed process), in seconds; default 60. */
        lockSeconds: z.coerce.number().int().min(1).max(3600).default(60),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((c) => c.rateLimit.store !== 'redis' || c.redisUrl !== undefined, {
    message: 'the redis rate-limit store needs redisUrl (PLINTH_REDIS_URL)',
    path: ['rateLimit', 'store'],
  })
  .refine((c) => c.env !== 'production' || c.encryptionKeys.length > 0, {
    message: 'production needs an encryption key for secrets at rest (PLINTH_ENCRYPTION_KEYS=id:base64-of-32-bytes)',
    path: ['encryptionKeys'],
  });

export type PlinthConfig = z.output<typeof configSchema>;
export type PlinthConfigInput = z.input<typeof configSchema>;

/** Environment variables read by `configFromEnv`, by config key. */
export const envKeys = {
  databaseUrl: 'PLINTH_DATABASE_URL',
  redisUrl: 'PLINTH_REDIS_URL',
  env: 'PLINTH_ENV',
  logLevel: 'PLINTH_LOG_LEVEL',
  autoMigrate: 'PLINTH_AUTO_MIGRATE',
  encryptionKeys: 'PLINTH_ENCRYPTION_KEYS',
  appUrl: 'PLINTH_APP_URL',
  'auth.accessTokenTtlSeconds': 'PLINTH_ACCESS_TOKEN_TTL',
  'auth.refreshTokenTtlSeconds': 'PLINTH_REFRESH_TOKEN_TTL',
  'auth.lockoutAccountFailures': 'PLINTH_LOCKOUT_ACCOUNT_FAILURES',
  'auth.lockoutIpFailures': 'PLINTH_LOCKOUT_IP_FAILURES',
  'mail.transport': 'PLINTH_MAIL_TRANSPORT',
  'mail.smtpUrl': 'PLINTH_SMTP_URL',
  'mail.from': 'PLINTH_MAIL_FROM',
  'mail.devDir': 'PLINTH_MAIL_DIR',
  'backup.dir': 'PLINTH_BACKUP_DIR',
  'backup.schedule': 'PLINTH_BACKUP_SCHEDULE',
  'backup.format': 'PLINTH_BACKUP_FORMAT',
  'backup.keepLast': 'PLINTH_BACKUP_KEEP_LAST',
  'backup.keepDaily': 'PLINTH_BACKUP_KEEP_DAILY',
  'database.poolMax': 'PLINTH_DATABASE_POOL_MAX',
  'database.busyTimeoutMs': 'PLINTH_SQLITE_BUSY_TIMEOUT_MS',
  'database.sqliteSynchronous': 'PLINTH_SQLITE_SYNCHRONOUS',
  'cache.maxEntries': 'PLINTH_CACHE_MAX_ENTRIES',
  'cache.maxAgeMs': 'PLINTH_CACHE_MAX_AGE_MS',
  'cache.ttlSeconds': 'PLINTH_CACHE_TTL_SECONDS',
  'cache.keyPrefix': 'PLINTH_CACHE_KEY_PREFIX',
  'jobs.leaseSeconds': 'PLINTH_JOBS_LEASE_SECONDS',
  'jobs.pollIntervalMs': 'PLINTH_JOBS_POLL_INTERVAL_MS',
  'jobs.concurrency': 'PLINTH_JOBS_CONCURRENCY',
  'jobs.maxAttempts': 'PLINTH_JOBS_MAX_ATTEMPTS',
  'jobs.shutdownTimeoutMs': 'PLINTH_JOBS_SHUTDOWN_TIMEOUT_MS',
  'jobs.keepCompletedSeconds': 'PLINTH_JOBS_KEEP_COMPLETED_SECONDS',
  'realtime.heartbeatSeconds': 'PLINTH_REALTIME_HEARTBEAT_SECONDS',
  'realtime.retentionHours': 'PLINTH_REALTIME_RETENTION_HOURS',
  'realtime.pollIntervalMs': 'PLINTH_REALTIME_POLL_INTERVAL_MS',
  'realtime.writeTimeoutMs': 'PLINTH_REALTIME_WRITE_TIMEOUT_MS',
  'realtime.maxConnections': 'PLINTH_REALTIME_MAX_CONNECTIONS',
  'http.host': 'PLINTH_HOST',
  'http.port': 'PLINTH_PORT',
  'http.bodyLimit': 'PLINTH_BODY_LIMIT',
  'http.corsOrigins': 'PLINTH_CORS_ORIGINS',
  'http.shutdownTimeoutMs': 'PLINTH_SHUTDOWN_TIMEOUT_MS',
  'http.trustProxy': 'PLINTH_TRUST_PROXY',
  'jobs.synchronousCommit': 'PLINTH_JOBS_SYNCHRONOUS_COMMIT',
  'idempotency.ttlSeconds': 'PLINTH_IDEMPOTENCY_TTL_SECONDS',
  'idempotency.lockSeconds': 'PLINTH_IDEMPOTENCY_LOCK_SECONDS',
  'rateLimit.enabled': 'PLINTH_RATE_LIMIT_ENABLED',
  'rateLimit.store': 'PLINTH_RATE_LIMIT_STORE',
  'rateLimit.whenStoreDown': 'PLINTH_RATE_LIMIT_WHEN_STORE_DOWN',
  'rateLimit.perIp': 'PLINTH_RATE_LIMIT_PER_IP',
  'rateLimit.perUser': 'PLINTH_RATE_LIMIT_PER_USER',
  'rateLimit.perApiKey': 'PLINTH_RATE_LIMIT_PER_API_KEY',
  'rateLimit.redisTimeoutMs': 'PLINTH_RATE_LIMIT_REDIS_TIMEOUT_MS',
  'rateLimit.keyPrefix': 'PLINTH_RATE_LIMIT_KEY_PREFIX',
  'rateLimit.leaseFraction': 'PLINTH_RATE_LIMIT_LEASE_FRACTION',
  'orders.expiryMinutes': 'PLINTH_ORDER_EXPIRY_MINUTES',
  'payments.fakeSecret': 'PLINTH_PAYMENTS_FAKE_SECRET',
  'analytics.timezone': 'PLINTH_ANALYTICS_TIMEZONE',
  'outbound.timeoutMs': 'PLINTH_OUTBOUND_TIMEOUT_MS',
  'outbound.failureThreshold': 'PLINTH_OUTBOUND_FAILURE_THRESHOLD',
  'outbound.failureRate': 'PLINTH_OUTBOUND_FAILURE_RATE',
  'outbound.openMs': 'PLINTH_OUTBOUND_OPEN_MS',
  'notifications.inlineWaitMs': 'PLINTH_NOTIFICATIONS_INLINE_WAIT_MS',
  'notifications.maxAttempts': 'PLINTH_NOTIFICATIONS_MAX_ATTEMPTS',
  'notifications.retryBaseMs': 'PLINTH_NOTIFICATIONS_RETRY_BASE_MS',
  'notifications.smsTransport': 'PLINTH_SMS_TRANSPORT',
  'notifications.smsUrl': 'PLINTH_SMS_URL',
  'notifications.smsToken': 'PLINTH_SMS_TOKEN',
  'notifications.smsFrom': 'PLINTH_SMS_FROM',
  'notifications.smsDevDir': 'PLINTH_SMS_DIR',
  'webhooks.allowPrivate': 'PLINTH_WEBHOOKS_ALLOW_PRIVATE',
  'webhooks.timeoutMs': 'PLINTH_WEBHOOKS_TIMEOUT_MS',
  'webhooks.retryScheduleMs': 'PLINTH_WEBHOOKS_RETRY_SCHEDULE_MS',
  'webhooks.disableAfterFailures': 'PLINTH_WEBHOOKS_DISABLE_AFTER_FAILURES',
  'webhooks.secretOverlapSeconds': 'PLINTH_WEBHOOKS_SECRET_OVERLAP_SECONDS',
  'webhooks.responseMaxChars': 'PLINTH_WEBHOOKS_RESPONSE_MAX_CHARS',
} as const;

function parseBool(value: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  return value; // left as a string so validation names the key
}

const booleanKeys = new Set(['autoMigrate', 'http.trustProxy', 'jobs.synchronousCommit', 'webhooks.allowPrivate', 'rateLimit.enabled']);

/** Reads the `PLINTH_*` variables into a config object (unset variables are left out). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): PlinthConfigInput {
  const out: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(envKeys)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = booleanKeys.has(key) ? parseBool(raw) : raw;
    const [head, tail] = key.split('.') as [string, string | undefined];
    if (tail) {
      const group = (out[head] ??= {}) as Record<string, unknown>;
      group[tail] = value;
    } else {
      out[head] = value;
    }
  }
  return out as PlinthConfigInput;
}

function describeKey(path: PropertyKey[]): string {
  const key = path.map(String).join('.');
  const env = (envKeys as Record<string, string>)[key];
  return env ? `${key} (${env})` : key || '(root)';
}

/**
 * Validates a config object once, at the edge, and freezes it. A bad value
 * fails fast with a message that names the key (and its environment variable).
 */
export function parseConfig(input: unknown = {}): Readonly<PlinthConfig> {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `${issue.keys.map((k) => describeKey([...issue.path, k])).join(', ')}: unknown configuration key`;
      }
      return `${describeKey(issue.path)}: ${issue.message}`;
    });
    throw new PlinthError('config.invalid', `Invalid Plinth configuration:\n  ${lines.join('\n  ')}`, {
      errors: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message, code: i.code })),
    });
  }
  return deepFreeze(result.data);
}

/** Environment first, then the object: explicit options win over `PLINTH_*` variables. */
/** True when `Intl` knows the IANA time zone `name`. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function loadConfig(overrides: PlinthConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Readonly<PlinthConfig> {
  const fromEnv = configFromEnv(env) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...fromEnv };
  for (const [key, value] of Object.entries(overrides as Record<string, unknown>)) {
    if (value === undefined) continue;
    const base = merged[key];
    const isGroup = value && typeof value === 'object' && !Array.isArray(value);
    const defined = isGroup ? Object.fromEntries(Object.entries(value as object).filter(([, v]) => v !== undefined)) : value;
    merged[key] = isGroup && base && typeof base === 'object' ? { ...(base as object), ...(defined as object) } : defined;
  }
  return parseConfig(merged);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
