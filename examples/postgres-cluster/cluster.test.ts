import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '@plinth/client';
import { createPlinth, OUTBOX_TABLE } from '@plinth/core';
import { createTestDatabase, type TestDatabase, testRedisUrl } from '@plinth/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('.', import.meta.url));
// The `plinth` binary as this example's package.json gets it (`pnpm exec plinth` runs the same file).
const plinthBin = fileURLToPath(new URL('./node_modules/@plinth/cli/dist/bin.js', import.meta.url));

describe('examples/postgres-cluster: two servers and a worker on one PostgreSQL and Redis', () => {
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  let worker: ChildProcess;

  function start(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
    const child = spawn(process.execPath, [plinthBin, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    return new Promise((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const m = ready.exec(out);
        if (m) resolve({ child, match: m });
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`plinth ${args.join(' ')} exited with ${code}: ${out}`)));
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    env = { ...process.env, PLINTH_DATABASE_URL: db.url, PLINTH_REDIS_URL: testRedisUrl, PLINTH_LOG_LEVEL: 'info', PLINTH_ENV: 'development' };
    // Migrate once, before the processes start (they are told not to).
    await run(process.execPath, [plinthBin, 'migrate', 'up'], { cwd: dir, env });
    const servers = await Promise.all(['a', 'b'].map(() => start(['serve', '--no-migrate', '--no-worker', '--port', '0', '--json'], /"url":"(http:\/\/[^"]+)"/)));
    for (const s of servers) urls.push(s.match[1]!);
    worker = (await start(['worker'], /Plinth worker \S+ running/)).child;
  }, 120_000);

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    }
    await db?.drop();
  });

  it('each server is ready, with the database and Redis checked', async () => {
    expect(urls).toHaveLength(2);
    expect(urls[0]).not.toBe(urls[1]);
    for (const url of urls) {
      const ready = await createClient({ baseUrl: url }).ready();
      expect(ready.checks.database?.ok).toBe(true);
      expect(ready.checks.redis?.ok).toBe(true);
    }
  });

  it('a session made on one server works on the other; refresh tokens rotate across them', async () => {
    const [a, b] = urls.map((baseUrl) => createClient({ baseUrl }));
    const up = await a!.signUp({ body: { email: 'cluster@example.com', password: 'two servers one database' } });
    await b!.session.set({ accessToken: up.accessToken, refreshToken: up.refreshToken, expiresAt: Date.now() + 600_000 });
    expect(await b!.getMe()).toMatchObject({ id: up.user.id, email: 'cluster@example.com' });
    const rotated = await b!.refresh({ body: { refreshToken: up.refreshToken } });
    const signedIn = await a!.signIn({ body: { email: 'cluster@example.com', password: 'two servers one database' } });
    expect('accessToken' in signedIn && signedIn.user.id).toBe(up.user.id);
    expect(rotated.refreshToken).not.toBe(up.refreshToken);
  });

  it('the worker dispatches the events both servers committed', async () => {
    const [a, b] = urls.map((baseUrl) => createClient({ baseUrl }));
    await a!.signUp({ body: { email: 'worker-a@example.com', password: 'dispatched by the worker' } });
    await b!.signUp({ body: { email: 'worker-b@example.com', password: 'dispatched by the worker' } });
    const reader = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', autoMigrate: false });
    await reader.start();
    try {
      const pending = () =>
        reader.db.selectFrom(OUTBOX_TABLE).select((eb) => eb.fn.countAll<string | number>().as('n')).where('dispatched_at', 'is', null).executeTakeFirstOrThrow();
      const total = await reader.db.selectFrom(OUTBOX_TABLE).select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(total.n)).toBeGreaterThan(0);
      await expect.poll(async () => Number((await pending()).n), { timeout: 30_000, interval: 200 }).toBe(0);
    } finally {
      await reader.close();
    }
    expect(worker.exitCode).toBeNull();
  });

  it('every process stops cleanly on SIGTERM', async () => {
    for (const child of children) {
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    }
  }, 60_000);
});
