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

/** A private `redis-server` a test may stop and start again (never the shared one). */
export interface TestRedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGKILL: an outage, not a clean shutdown); resolves when the process is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
}

/**
 * Starts `redis-server --port <free> --save ''` (no persistence). The port is
 * picked free by the OS first. Stop it in the test's cleanup.
 */
export async function startTestRedisServer(): Promise<TestRedisServer> {
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const port = await new Promise<number>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as import('node:net').AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  let child: import('node:child_process').ChildProcess | undefined;
  const ready = () =>
    new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const attempt = () => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.end();
          resolve();
        });
        socket.once('error', () => {
          socket.destroy();
          if (Date.now() > deadline) reject(new Error(`redis-server on port ${port} did not start`));
          else setTimeout(attempt, 50);
        });
      };
      attempt();
    });
  const server: TestRedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await ready();
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGKILL');
      await exited;
    },
  };
  await server.start();
  return server;
}
