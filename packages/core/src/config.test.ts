import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPlinth, DEFAULT_DATABASE_URL, loadConfig, type PlinthConfigInput, PlinthError } from './index.js';

/** Runs `fn`, expecting a `config.invalid` PlinthError, and returns it. */
function configError(fn: () => unknown): PlinthError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PlinthError);
    expect(error).toMatchObject({ code: 'config.invalid', status: 500 });
    return error as PlinthError;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('configuration', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('has defaults for everything, with the database a SQLite file under ./.plinth/', () => {
    const config = loadConfig({}, {});
    expect(DEFAULT_DATABASE_URL).toBe('sqlite:./.plinth/plinth.db');
    expect(config).toEqual({
      databaseUrl: 'sqlite:./.plinth/plinth.db',
      env: 'development',
      logLevel: 'info',
      autoMigrate: true,
      encryptionKeys: [],
      appUrl: 'http://127.0.0.1:8080',
      auth: expect.objectContaining({ accessTokenTtlSeconds: 900, issuer: 'plinth', lockoutAccountFailures: 5, oidc: {} }),
      mail: { transport: 'dev', from: 'Plinth <no-reply@localhost>', devDir: './.plinth/mail' },
      backup: { format: 'logical' },
      database: { poolMax: 10, busyTimeoutMs: 5000, sqliteSynchronous: 'full' },
      cache: { maxEntries: 10_000, maxAgeMs: 1000, ttlSeconds: 60, keyPrefix: 'plinth:cache:' },
      rateLimit: {
        store: 'auto',
        whenStoreDown: 'failOpen',
        perIp: { limit: 600, periodSeconds: 60 },
        perUser: { limit: 1200, periodSeconds: 60 },
        perApiKey: { limit: 3000, periodSeconds: 60 },
        routes: {},
        redisTimeoutMs: 250,
        leaseFraction: 0.01,
        maxKeys: 100_000,
        keyPrefix: 'plinth:rl:',
        logIntervalMs: 30_000,
      },
      orders: { expiryMinutes: 30 },
      jobs: { leaseSeconds: 30, pollIntervalMs: 1000, concurrency: 10, maxAttempts: 5, shutdownTimeoutMs: 10_000, keepCompletedSeconds: 604_800, synchronousCommit: false },
      realtime: { heartbeatSeconds: 15, retentionHours: 24, pollIntervalMs: 1000, writeTimeoutMs: 30_000, maxConnections: 10_000 },
      payments: {},
      analytics: { timezone: 'UTC' },
      http: {
        host: '127.0.0.1',
        port: 8080,
        bodyLimit: 1024 * 1024,
        corsOrigins: [],
        shutdownTimeoutMs: 10_000,
        trustProxy: false,
      },
      idempotency: { ttlSeconds: 86_400, lockSeconds: 60 },
      outbound: { timeoutMs: 10_000, failureThreshold: 5, failureRate: 0.5, openMs: 30_000 },
      notifications: { inlineWaitMs: 250, maxAttempts: 8, retryBaseMs: 5000, smsTransport: 'dev', smsFrom: 'Plinth', smsDevDir: './.plinth/sms' },
      webhooks: {
        allowPrivate: false,
        timeoutMs: 15_000,
        retryScheduleMs: [5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
        disableAfterFailures: 50,
        secretOverlapSeconds: 86_400,
        responseMaxChars: 2048,
      },
    });
    expect(config.redisUrl).toBeUndefined();
  });

  it('refuses production without an encryption key for secrets at rest', () => {
    expect(() => loadConfig({ env: 'production' }, {})).toThrow(/encryptionKeys \(PLINTH_ENCRYPTION_KEYS\): production needs an encryption key/);
    expect(() => loadConfig({ encryptionKeys: ['k1:short'] }, {})).toThrow(/encryptionKeys/);
  });

  it('reads PLINTH_* variables from an env object', () => {
    const config = loadConfig(
      {},
      {
        PLINTH_DATABASE_URL: 'postgres://app:secret@db.internal:5432/app',
        PLINTH_REDIS_URL: 'redis://cache.internal:6379',
        PLINTH_CACHE_TTL_SECONDS: '30',
        PLINTH_CACHE_KEY_PREFIX: 'app1:cache:',
        PLINTH_RATE_LIMIT_ENABLED: 'yes',
        PLINTH_RATE_LIMIT_STORE: 'redis',
        PLINTH_RATE_LIMIT_WHEN_STORE_DOWN: 'failClosed',
        PLINTH_RATE_LIMIT_PER_IP: '100/10',
        PLINTH_RATE_LIMIT_PER_API_KEY: '50/1s',
        PLINTH_RATE_LIMIT_REDIS_TIMEOUT_MS: '100',
        PLINTH_RATE_LIMIT_KEY_PREFIX: 'app1:rl:',
        PLINTH_RATE_LIMIT_LEASE_FRACTION: '0',
        PLINTH_ENV: 'production',
        PLINTH_LOG_LEVEL: 'debug',
        PLINTH_AUTO_MIGRATE: '0',
        PLINTH_DATABASE_POOL_MAX: '25',
        PLINTH_SQLITE_BUSY_TIMEOUT_MS: '250',
        PLINTH_SQLITE_SYNCHRONOUS: 'normal',
        PLINTH_CACHE_MAX_AGE_MS: '250',
        PLINTH_HOST: '0.0.0.0',
        PLINTH_PORT: '3000',
        PLINTH_BODY_LIMIT: '2048',
        PLINTH_CORS_ORIGINS: 'https://a.example, https://b.example,',
        PLINTH_SHUTDOWN_TIMEOUT_MS: '500',
        PLINTH_TRUST_PROXY: 'yes',
        PLINTH_JOBS_LEASE_SECONDS: '5',
        PLINTH_JOBS_POLL_INTERVAL_MS: '250',
        PLINTH_JOBS_CONCURRENCY: '4',
        PLINTH_JOBS_MAX_ATTEMPTS: '8',
        PLINTH_JOBS_SHUTDOWN_TIMEOUT_MS: '3000',
        PLINTH_JOBS_KEEP_COMPLETED_SECONDS: '3600',
        PLINTH_JOBS_SYNCHRONOUS_COMMIT: 'true',
        PLINTH_REALTIME_HEARTBEAT_SECONDS: '5',
        PLINTH_REALTIME_RETENTION_HOURS: '48',
        PLINTH_REALTIME_POLL_INTERVAL_MS: '500',
        PLINTH_REALTIME_WRITE_TIMEOUT_MS: '5000',
        PLINTH_REALTIME_MAX_CONNECTIONS: '100',
        PLINTH_ENCRYPTION_KEYS: `k2:${'A'.repeat(43)}=,k1:${'B'.repeat(43)}=`,
        PLINTH_ACCESS_TOKEN_TTL: '300',
        PLINTH_IDEMPOTENCY_TTL_SECONDS: '3600',
        PLINTH_IDEMPOTENCY_LOCK_SECONDS: '15',
        PLINTH_ORDER_EXPIRY_MINUTES: '15',
        PLINTH_BACKUP_DIR: '/var/backups/plinth',
        PLINTH_BACKUP_SCHEDULE: '30 2 * * *',
        PLINTH_BACKUP_FORMAT: 'native',
        PLINTH_BACKUP_KEEP_LAST: '7',
        PLINTH_BACKUP_KEEP_DAILY: '30',
        PLINTH_ANALYTICS_TIMEZONE: 'Europe/Paris',
        HOME: '/root',
        PORT: '1234',
      },
    );
    expect(config).toEqual({
      databaseUrl: 'postgres://app:secret@db.internal:5432/app',
      redisUrl: 'redis://cache.internal:6379',
      env: 'production',
      logLevel: 'debug',
      autoMigrate: false,
      encryptionKeys: [`k2:${'A'.repeat(43)}=`, `k1:${'B'.repeat(43)}=`],
      appUrl: 'http://127.0.0.1:8080',
      auth: expect.objectContaining({ accessTokenTtlSeconds: 300 }),
      mail: expect.objectContaining({ transport: 'dev' }),
      backup: { dir: '/var/backups/plinth', schedule: '30 2 * * *', format: 'native', keepLast: 7, keepDaily: 30 },
      database: { poolMax: 25, busyTimeoutMs: 250, sqliteSynchronous: 'normal' },
      cache: { maxEntries: 10_000, maxAgeMs: 250, ttlSeconds: 30, keyPrefix: 'app1:cache:' },
      rateLimit: {
        enabled: true,
        store: 'redis',
        whenStoreDown: 'failClosed',
        perIp: { limit: 100, periodSeconds: 10 },
        perUser: { limit: 1200, periodSeconds: 60 },
        perApiKey: { limit: 50, periodSeconds: 1 },
        routes: {},
        redisTimeoutMs: 100,
        leaseFraction: 0,
        maxKeys: 100_000,
        keyPrefix: 'app1:rl:',
        logIntervalMs: 30_000,
      },
      orders: { expiryMinutes: 15 },
      jobs: { leaseSeconds: 5, pollIntervalMs: 250, concurrency: 4, maxAttempts: 8, shutdownTimeoutMs: 3000, keepCompletedSeconds: 3600, synchronousCommit: true },
      realtime: { heartbeatSeconds: 5, retentionHours: 48, pollIntervalMs: 500, writeTimeoutMs: 5000, maxConnections: 100 },
      payments: {},
      analytics: { timezone: 'Europe/Paris' },
      http: {
        host: '0.0.0.0',
        port: 3000,
        bodyLimit: 2048,
        corsOrigins: ['https://a.example', 'https://b.example'],
        shutdownTimeoutMs: 500,
        trustProxy: true,
      },
      idempotency: { ttlSeconds: 3600, lockSeconds: 15 },
      outbound: expect.objectContaining({ timeoutMs: 10_000 }),
      notifications: expect.objectContaining({ smsTransport: 'dev' }),
      webhooks: expect.objectContaining({ allowPrivate: false }),
    });
  });

  it('reads the outbound, notifications and webhooks keys from PLINTH_* variables, and refuses bad ones', () => {
    const config = loadConfig({}, {
      PLINTH_OUTBOUND_TIMEOUT_MS: '2500',
      PLINTH_OUTBOUND_FAILURE_THRESHOLD: '3',
      PLINTH_OUTBOUND_FAILURE_RATE: '0.25',
      PLINTH_OUTBOUND_OPEN_MS: '5000',
      PLINTH_NOTIFICATIONS_INLINE_WAIT_MS: '100',
      PLINTH_NOTIFICATIONS_MAX_ATTEMPTS: '4',
      PLINTH_NOTIFICATIONS_RETRY_BASE_MS: '1000',
      PLINTH_SMS_TRANSPORT: 'http',
      PLINTH_SMS_URL: 'https://sms.example/send',
      PLINTH_SMS_TOKEN: 'sms-token',
      PLINTH_SMS_FROM: 'Shop',
      PLINTH_SMS_DIR: '/tmp/sms',
      PLINTH_WEBHOOKS_ALLOW_PRIVATE: '1',
      PLINTH_WEBHOOKS_TIMEOUT_MS: '3000',
      PLINTH_WEBHOOKS_RETRY_SCHEDULE_MS: '100, 1000,60000',
      PLINTH_WEBHOOKS_DISABLE_AFTER_FAILURES: '7',
      PLINTH_WEBHOOKS_SECRET_OVERLAP_SECONDS: '600',
      PLINTH_WEBHOOKS_RESPONSE_MAX_CHARS: '512',
    });
    expect(config.outbound).toEqual({ timeoutMs: 2500, failureThreshold: 3, failureRate: 0.25, openMs: 5000 });
    expect(config.notifications).toEqual({
      inlineWaitMs: 100, maxAttempts: 4, retryBaseMs: 1000, smsTransport: 'http', smsUrl: 'https://sms.example/send', smsToken: 'sms-token', smsFrom: 'Shop', smsDevDir: '/tmp/sms',
    });
    expect(config.webhooks).toEqual({ allowPrivate: true, timeoutMs: 3000, retryScheduleMs: [100, 1000, 60_000], disableAfterFailures: 7, secretOverlapSeconds: 600, responseMaxChars: 512 });
    expect(() => loadConfig({}, { PLINTH_WEBHOOKS_ALLOW_PRIVATE: 'maybe' })).toThrow(/webhooks\.allowPrivate \(PLINTH_WEBHOOKS_ALLOW_PRIVATE\)/);
    expect(() => loadConfig({}, { PLINTH_WEBHOOKS_RETRY_SCHEDULE_MS: '5s,10s' })).toThrow(/webhooks\.retryScheduleMs/);
    expect(() => loadConfig({}, { PLINTH_OUTBOUND_FAILURE_RATE: '2' })).toThrow(/outbound\.failureRate \(PLINTH_OUTBOUND_FAILURE_RATE\)/);
    expect(() => loadConfig({}, { PLINTH_SMS_TRANSPORT: 'http' })).toThrow(/smsUrl is required/);
    expect(() => loadConfig({ webhooks: { retryScheduleMs: [] } }, {})).toThrow(/webhooks\.retryScheduleMs/);
  });

  it('ignores empty PLINTH_* variables', () => {
    const config = loadConfig({}, { PLINTH_PORT: '', PLINTH_DATABASE_URL: '' });
    expect(config.http.port).toBe(8080);
    expect(config.databaseUrl).toBe(DEFAULT_DATABASE_URL);
  });

  it('lets explicit options override the environment, key by key inside groups', () => {
    const config = loadConfig(
      { databaseUrl: 'sqlite:./app.db', http: { port: 4000 }, autoMigrate: true },
      { PLINTH_DATABASE_URL: 'postgres://x@db/app', PLINTH_PORT: '3000', PLINTH_HOST: '0.0.0.0', PLINTH_AUTO_MIGRATE: 'false' },
    );
    expect(config.databaseUrl).toBe('sqlite:./app.db');
    expect(config.http.port).toBe(4000);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.autoMigrate).toBe(true);
  });

  it('accepts booleans written as words, and rejects anything else instead of reading it as true', () => {
    expect(loadConfig({ autoMigrate: 'false' }, {}).autoMigrate).toBe(false);
    expect(loadConfig({}, { PLINTH_AUTO_MIGRATE: 'off' }).autoMigrate).toBe(false);
    expect(loadConfig({}, { PLINTH_TRUST_PROXY: 'TRUE' }).http.trustProxy).toBe(true);
    expect(configError(() => loadConfig({}, { PLINTH_AUTO_MIGRATE: 'maybe' })).message).toContain(
      'autoMigrate (PLINTH_AUTO_MIGRATE): must be true or false',
    );
    expect(configError(() => loadConfig({}, { PLINTH_TRUST_PROXY: 'sometimes' })).message).toContain('http.trustProxy (PLINTH_TRUST_PROXY)');
  });

  it('fails fast on bad values, naming the key and its environment variable', () => {
    expect(configError(() => loadConfig({}, { PLINTH_PORT: 'http' })).message).toContain('http.port (PLINTH_PORT)');
    expect(configError(() => loadConfig({}, { PLINTH_PORT: '70000' })).message).toContain('http.port (PLINTH_PORT)');
    expect(configError(() => loadConfig({ http: { port: 80.5 } }, {})).message).toContain('http.port (PLINTH_PORT): must be a whole number');
    expect(configError(() => loadConfig({ databaseUrl: 'mysql://x' }, {})).message).toContain('databaseUrl (PLINTH_DATABASE_URL)');
    expect(configError(() => loadConfig({}, { PLINTH_REDIS_URL: 'http://cache:6379' })).message).toContain(
      'redisUrl (PLINTH_REDIS_URL): must be a redis:// or rediss:// URL',
    );
    expect(configError(() => loadConfig({}, { PLINTH_ENV: 'staging' })).message).toContain('env (PLINTH_ENV)');
    expect(configError(() => loadConfig({}, { PLINTH_DATABASE_POOL_MAX: '0' })).message).toContain('database.poolMax (PLINTH_DATABASE_POOL_MAX)');
    expect(configError(() => loadConfig({}, { PLINTH_ANALYTICS_TIMEZONE: 'Mars/Olympus' })).message).toContain(
      'analytics.timezone (PLINTH_ANALYTICS_TIMEZONE): must be an IANA time zone',
    );
  });

  it('reports every bad value at once, with field errors', () => {
    const error = configError(() => loadConfig({ logLevel: 'loud' as never }, { PLINTH_PORT: '-1', PLINTH_ENV: 'qa' }));
    expect(error.errors?.map((e) => e.path).sort()).toEqual(['env', 'http.port', 'logLevel']);
    expect(error.message).toContain('logLevel (PLINTH_LOG_LEVEL)');
    expect(error.message).toContain('http.port (PLINTH_PORT)');
    expect(error.message).toContain('env (PLINTH_ENV)');
  });

  it('rejects unknown keys, at the top level and inside groups', () => {
    const topLevel = configError(() => loadConfig({ databseUrl: 'sqlite:./x.db' } as PlinthConfigInput, {}));
    expect(topLevel.message).toContain('databseUrl: unknown configuration key');
    const nested = configError(() => loadConfig({ http: { prot: 3000 } } as PlinthConfigInput, {}));
    expect(nested.message).toContain('http.prot: unknown configuration key');
  });

  it('returns a frozen configuration', () => {
    const config = loadConfig({ http: { corsOrigins: ['https://a.example'] } }, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(Object.isFrozen(config.http.corsOrigins)).toBe(true);
    expect(() => {
      (config as { env: string }).env = 'production';
    }).toThrow(TypeError);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.env).toBe('development');
    expect(config.http.port).toBe(8080);
  });

  describe('in createPlinth', () => {
    it('throws config.invalid for an unsupported database URL', () => {
      const error = configError(() => createPlinth({ databaseUrl: 'mysql://x', processEnv: false }));
      expect(error.message).toContain('databaseUrl (PLINTH_DATABASE_URL)');
    });

    it('reads process.env by default and ignores it with processEnv: false', async () => {
      vi.stubEnv('PLINTH_PORT', 'not-a-port');
      expect(configError(() => createPlinth({ databaseUrl: 'sqlite::memory:' })).message).toContain('http.port (PLINTH_PORT)');

      const plinth = createPlinth({ databaseUrl: 'sqlite::memory:', processEnv: false });
      try {
        expect(plinth.config.http.port).toBe(8080);
      } finally {
        await plinth.close();
      }
    });

    it('reads PLINTH_* variables from a given env object', async () => {
      const plinth = createPlinth({ processEnv: { PLINTH_DATABASE_URL: 'sqlite::memory:', PLINTH_LOG_LEVEL: 'silent', PLINTH_PORT: '9090' } });
      try {
        expect(plinth.config).toMatchObject({ databaseUrl: 'sqlite::memory:', logLevel: 'silent', http: { port: 9090 } });
        expect(plinth.storage.dialect).toBe('sqlite');
      } finally {
        await plinth.close();
      }
    });
  });
});
