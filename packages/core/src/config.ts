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

const port = z.coerce.number().int('must be a whole number').min(0).max(65535);

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
    /** Run pending migrations in `start()`; default true. */
    autoMigrate: bool.default(true),
    database: z
      .object({
        /** PostgreSQL pool size; default 10. */
        poolMax: z.coerce.number().int().min(1).max(1000).default(10),
        /** SQLite busy timeout in ms; default 5000. */
        busyTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(5000),
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
  .strict();

export type PlinthConfig = z.output<typeof configSchema>;
export type PlinthConfigInput = z.input<typeof configSchema>;

/** Environment variables read by `configFromEnv`, by config key. */
export const envKeys = {
  databaseUrl: 'PLINTH_DATABASE_URL',
  redisUrl: 'PLINTH_REDIS_URL',
  env: 'PLINTH_ENV',
  logLevel: 'PLINTH_LOG_LEVEL',
  autoMigrate: 'PLINTH_AUTO_MIGRATE',
  'database.poolMax': 'PLINTH_DATABASE_POOL_MAX',
  'database.busyTimeoutMs': 'PLINTH_SQLITE_BUSY_TIMEOUT_MS',
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
    merged[key] =
      value && typeof value === 'object' && !Array.isArray(value) && base && typeof base === 'object'
        ? { ...(base as object), ...(value as object) }
        : value;
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
