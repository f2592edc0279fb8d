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
      database: { poolMax: 10, busyTimeoutMs: 5000, sqliteSynchronous: 'full' },
      http: {
        host: '127.0.0.1',
        port: 8080,
        bodyLimit: 1024 * 1024,
        corsOrigins: [],
        shutdownTimeoutMs: 10_000,
        trustProxy: false,
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
        PLINTH_ENV: 'production',
        PLINTH_LOG_LEVEL: 'debug',
        PLINTH_AUTO_MIGRATE: '0',
        PLINTH_DATABASE_POOL_MAX: '25',
        PLINTH_SQLITE_BUSY_TIMEOUT_MS: '250',
        PLINTH_SQLITE_SYNCHRONOUS: 'normal',
        PLINTH_HOST: '0.0.0.0',
        PLINTH_PORT: '3000',
        PLINTH_BODY_LIMIT: '2048',
        PLINTH_CORS_ORIGINS: 'https://a.example, https://b.example,',
        PLINTH_SHUTDOWN_TIMEOUT_MS: '500',
        PLINTH_TRUST_PROXY: 'yes',
        PLINTH_ENCRYPTION_KEYS: `k2:${'A'.repeat(43)}=,k1:${'B'.repeat(43)}=`,
        PLINTH_ACCESS_TOKEN_TTL: '300',
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
      database: { poolMax: 25, busyTimeoutMs: 250, sqliteSynchronous: 'normal' },
      http: {
        host: '0.0.0.0',
        port: 3000,
        bodyLimit: 2048,
        corsOrigins: ['https://a.example', 'https://b.example'],
        shutdownTimeoutMs: 500,
        trustProxy: true,
      },
    });
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
