import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { hasStack, http, plinth, prepareDatabase, serve, tempDir } from './cli.js';

describe('plinth serve', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function database(dialect: 'sqlite' | 'postgres'): Promise<TestDatabase> {
    const db = await createTestDatabase(dialect);
    cleanups.push(() => db.drop());
    return db;
  }

  it('answers GET /healthz on the URL it prints, and exits 0 promptly on SIGTERM', async () => {
    const db = await database('sqlite');
    const server = await serve(['--port', '0', '--database-url', db.url]);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.stdout()).toContain('(sqlite ');

    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });

    const exit = await server.stop('SIGTERM');
    expect(exit.code, server.stdout() + server.stderr()).toBe(0);
    expect(exit.ms).toBeLessThan(5000);
  });

  it('creates .plinth/plinth.db under the working directory when no database URL is given', async () => {
    const cwd = tempDir();
    cleanups.push(cwd.remove);
    const server = await serve(['--port', '0'], { cwd: cwd.path });
    expect(existsSync(join(cwd.path, '.plinth', 'plinth.db'))).toBe(true);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await server.stop()).code).toBe(0);

    // It migrated on start.
    const status = await plinth(['migrate', 'status', '--json'], { cwd: cwd.path });
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, databaseExists: true, pending: 0 });
  });

  it('runs jobs in process on SQLite by default (committed events are dispatched), not with --no-worker; not on PostgreSQL unless --worker', async () => {
    const undispatched = async (url: string) => {
      const app = await prepareDatabase(url, { migrate: false });
      try {
        return (await app.db.selectFrom('plinth_outbox').select('id').where('dispatched_at', 'is', null).execute()).length;
      } finally {
        await app.close();
      }
    };
    const signUp = (base: string) =>
      http(base, 'POST', '/v1/auth/sign-up', { body: { email: `u${Math.random().toString(36).slice(2)}@example.com`, password: 'Quiet-Harbor-42' } });
    for (const [dialect, args, runs] of [
      ['sqlite', [], true],
      ['sqlite', ['--no-worker'], false],
      ['postgres', [], false],
      ['postgres', ['--worker'], true],
    ] as const) {
      const db = await database(dialect);
      const server = await serve(['--port', '0', '--database-url', db.url, ...args]);
      expect(server.stdout().includes('running jobs in this process'), `${dialect} ${args}`).toBe(runs);
      expect((await signUp(server.url)).status).toBe(201); // emits user.signed_up
      if (runs) {
        const deadline = Date.now() + 5000;
        while ((await undispatched(db.url)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      } else {
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(await undispatched(db.url), `${dialect} ${args}`).toBe(runs ? 0 : 1);
      expect((await server.stop()).code).toBe(0);
    }
  });

  it('serves PostgreSQL without printing the database password', async () => {
    const db = await database('postgres');
    const url = new URL(db.url);
    url.password = 's3cret-pw'; // trust authentication ignores it
    const server = await serve(['--port', '0', '--database-url', url.toString()]);
    expect(server.stdout()).toMatch(/Plinth listening on http:\/\/\S+ \(postgres postgres:\/\/postgres:\*\*\*@/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await server.stop()).code).toBe(0);
    expect(server.stdout() + server.stderr()).not.toContain('s3cret-pw');
  });

  it('leaves migrations pending with --no-migrate', async () => {
    const db = await database('sqlite');
    const server = await serve(['--port', '0', '--no-migrate', '--database-url', db.url]);
    expect((await server.stop()).code).toBe(0);
    const status = await plinth(['migrate', 'status', '--json', '--database-url', db.url]);
    expect(JSON.parse(status.stdout).pending).toBeGreaterThan(0);
  });

  it('prints the address as one JSON line with --json', async () => {
    const db = await database('sqlite');
    const server = await serve(['--port', '0', '--json', '--database-url', db.url]);
    const line = server.stdout().split('\n').find((l) => l.includes('"event":"listening"'))!;
    const port = Number(new URL(server.url).port);
    expect(JSON.parse(line)).toEqual({ event: 'listening', url: server.url, host: '127.0.0.1', port, dialect: 'sqlite', database: db.url, worker: expect.stringMatching(/:\d+:/) });
    expect((await server.stop()).code).toBe(0);
  });

  it('fails with one line and exit code 1 when the port is in use', async () => {
    const db = await database('sqlite');
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const port = (blocker.address() as { port: number }).port;

    const result = await plinth(['serve', '--port', String(port), '--database-url', db.url]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr.trim()).toBe(`error: Port ${port} on 127.0.0.1 is already in use`);
    expect(hasStack(result.stderr)).toBe(false);
  });

  it('fails with exit code 1 naming the key when PLINTH_PORT is not a number', async () => {
    const result = await plinth(['serve'], { env: { PLINTH_PORT: 'abc' } });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^error: Invalid Plinth configuration: http\.port \(PLINTH_PORT\): .+\n$/);
    expect(hasStack(result.stderr)).toBe(false);
  });
});
