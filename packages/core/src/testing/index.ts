import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * `@plinth/core/testing`: real databases for tests, one fresh database per
 * call. Run the same suite over `dialects` to prove a module works on both.
 */
export const dialects = ['sqlite', 'postgres'] as const;
export type TestDialect = (typeof dialects)[number];

export interface TestDatabase {
  dialect: TestDialect;
  /** Pass as `databaseUrl`. */
  url: string;
  /** Drops the database (PostgreSQL) or deletes its folder (SQLite). */
  drop(): Promise<void>;
}

/** Server URL for test databases; `PLINTH_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`. */
export const testPostgresAdminUrl = process.env.PLINTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Redis URL for tests; `PLINTH_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`. */
export const testRedisUrl = process.env.PLINTH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testPostgresAdminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database of the given dialect. */
export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-test-'));
    return {
      dialect,
      url: `sqlite:${join(dir, 'test.db')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `plinth_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database "${name}"`));
  const url = new URL(testPostgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.toString(),
    drop: () => admin((c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}
