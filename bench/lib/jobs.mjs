/**
 * No-op job throughput: enqueue BENCH_JOBS jobs (default 20,000; not measured),
 * then time a worker (concurrency 10) from its start until every job has run and
 * its completion is recorded (the worker's stop flushes the last completions).
 * PostgreSQL runs on a fresh database (PLINTH_TEST_POSTGRES_URL or the local
 * server), SQLite on a temp file with the default pragmas (synchronous=FULL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlinth, createWorker, defineModule } from '@plinth/core';
import { createTestDatabase } from '@plinth/core/testing';
import { backendCpuMs, cpuSince } from './pg-cpu.mjs';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);

const CONCURRENCY = 10;

export async function measureJobs({ dialect, batchSize }) {
  let target = JOBS;
  let done = 0;
  let finished;
  const bench = defineModule({
    name: 'bench',
    jobs: {
      'bench.noop': {
        handler: () => {
          if (++done === target) finished();
        },
      },
    },
  });
  let cleanup;
  let databaseUrl;
  if (dialect === 'postgres') {
    const db = await createTestDatabase('postgres');
    databaseUrl = db.url;
    cleanup = () => db.drop();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-bench-jobs-'));
    databaseUrl = `sqlite:${join(dir, 'bench.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const plinth = createPlinth({ databaseUrl, processEnv: false, logLevel: process.env.BENCH_LOG ?? 'silent', builtins: false, modules: [bench], database: { poolMax: CONCURRENCY + 2 } });
  try {
    await plinth.start();
    const enqueue = async (count) => {
      for (let i = 0; i < count; i += 1000) {
        await plinth.transaction(async () => {
          for (let j = i; j < Math.min(count, i + 1000); j++) await plinth.jobs.enqueue('bench.noop', { n: j });
        });
      }
    };
    // Warm-up: a small round first (JIT, statement caches, connections).
    target = 1000;
    await enqueue(target);
    let all = new Promise((resolve) => (finished = resolve));
    let worker = createWorker(plinth, { concurrency: CONCURRENCY, batchSize, dispatch: false, schedule: false });
    await worker.start();
    await all;
    await worker.stop();

    done = 0;
    target = JOBS;
    await enqueue(target);
    all = new Promise((resolve) => (finished = resolve));
    worker = createWorker(plinth, { concurrency: CONCURRENCY, batchSize, dispatch: false, schedule: false });
    const stats = { claims: 0, rows: 0 };
    const storage = plinth.storage;
    if (process.env.BENCH_LOG && storage?.prepared) {
      const prepared = storage.prepared.bind(storage);
      storage.prepared = async (...args) => {
        const rows = await prepared(...args);
        stats.claims++;
        stats.rows += rows.length;
        return rows;
      };
    }
    const dbBefore = dialect === 'postgres' ? await backendCpuMs(plinth.db) : undefined;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await worker.start();
    await all;
    const stopAt = performance.now();
    await worker.stop();
    if (process.env.BENCH_LOG) console.error('stop took', Math.round(performance.now() - stopAt), 'ms; held', worker.held, 'claims', stats);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const dbCpuMs = dbBefore ? cpuSince(dbBefore, await backendCpuMs(plinth.db)) : undefined;
    const left = await plinth.db.selectFrom('plinth_jobs').select((eb) => eb.fn.countAll().as('n')).where('state', '!=', 'completed').executeTakeFirstOrThrow();
    if (Number(left.n) !== 0) throw new Error(`${left.n} jobs are not completed`);
    return { opsPerSec: JOBS / seconds, ops: JOBS, seconds, cpuMs: (cpu.user + cpu.system) / 1000, dbCpuMs };
  } finally {
    await plinth.close();
    await cleanup();
  }
}

/**
 * Floor of the PostgreSQL job scenarios: the same Plinth setup (fresh database,
 * pool of 12), then CONCURRENCY loops sending a prepared no-op statement
 * (`select $1::int`) through `storage.prepared`, the path every claim takes,
 * until BENCH_JOBS round trips are answered. Round trips/s: what the machine
 * gives the driver, the pool and the server right now, without any job work.
 */
export async function measureRoundTrips() {
  const db = await createTestDatabase('postgres');
  const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', builtins: false, database: { poolMax: CONCURRENCY + 2 } });
  try {
    await plinth.start();
    const storage = plinth.storage;
    const loop = async (count) => {
      let sent = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (sent < count) await storage.prepared('bench_floor_round_trip', 'select $1::int as n', [sent++]);
        }),
      );
    };
    await loop(1000); // warm-up: connections, the statement prepared on each
    const dbBefore = await backendCpuMs(plinth.db);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await loop(JOBS);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const dbCpuMs = cpuSince(dbBefore, await backendCpuMs(plinth.db));
    return { opsPerSec: JOBS / seconds, ops: JOBS, seconds, cpuMs: (cpu.user + cpu.system) / 1000, dbCpuMs };
  } finally {
    await plinth.close();
    await db.drop();
  }
}
