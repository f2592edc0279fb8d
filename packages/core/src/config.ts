import { z } from 'zod';
import { PlinthError } from './errors.js';

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
  })
  .strict()
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
  'database.poolMax': 'PLINTH_DATABASE_POOL_MAX',
  'database.busyTimeoutMs': 'PLINTH_SQLITE_BUSY_TIMEOUT_MS',
  'database.sqliteSynchronous': 'PLINTH_SQLITE_SYNCHRONOUS',
  'http.host': 'PLINTH_HOST',
  'http.port': 'PLINTH_PORT',
  'http.bodyLimit': 'PLINTH_BODY_LIMIT',
  'http.corsOrigins': 'PLINTH_CORS_ORIGINS',
  'http.shutdownTimeoutMs': 'PLINTH_SHUTDOWN_TIMEOUT_MS',
  'http.trustProxy': 'PLINTH_TRUST_PROXY',
} as const;

function parseBool(value: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  return value; // left as a string so validation names the key
}

const booleanKeys = new Set(['autoMigrate', 'http.trustProxy']);

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
