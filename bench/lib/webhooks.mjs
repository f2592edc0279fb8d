/**
 * Outbound webhooks, end to end: outbox event committed → dispatcher → fan-out job →
 * delivery job → signed POST (undici) → a local `node:http` receiver in this process.
 *
 * - latency: one endpoint; BENCH_WEBHOOK_EVENTS (default 300) `order.paid` events, one at
 *   a time: commit, wait for the receiver to get it; p50/p99 of commit → receipt.
 * - fan-out: BENCH_WEBHOOK_ENDPOINTS (default 10) endpoints × BENCH_WEBHOOK_EVENTS events
 *   committed first (not measured), then a worker (concurrency 10) starts; deliveries/s
 *   from its start until the receiver has every delivery.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlinth, createWorker, systemActor } from '@plinth/core';
import { createTestDatabase } from '@plinth/core/testing';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 300);
const ENDPOINTS = Number(process.env.BENCH_WEBHOOK_ENDPOINTS ?? 10);

async function setUp(dialect) {
  let cleanup;
  let databaseUrl;
  if (dialect === 'postgres') {
    const db = await createTestDatabase('postgres');
    databaseUrl = db.url;
    cleanup = () => db.drop();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-bench-webhooks-'));
    databaseUrl = `sqlite:${join(dir, 'bench.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const arrivals = new Map(); // event id → ms
  let received = 0;
  let onReceive = () => {};
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received++;
      const { data } = JSON.parse(body);
      if (!arrivals.has(data.id)) arrivals.set(data.id, performance.now());
      res.writeHead(204).end();
      onReceive();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${receiver.address().port}/hooks`;
  const plinth = createPlinth({
    databaseUrl, processEnv: false, logLevel: process.env.BENCH_LOG ?? 'silent', encryptionKeys: [`bench:${Buffer.alloc(32, 9).toString('base64')}`],
    webhooks: { allowPrivate: true }, database: { poolMax: 12 },
  });
  await plinth.start();
  const webhooks = plinth.service('webhooks');
  const addEndpoint = () => webhooks.createEndpoint({ url, events: ['order.paid'] }, { actor: systemActor('bench') });
  const emit = (id) =>
    plinth.transaction((tx) => tx.emit({ type: 'order.paid', aggregate: { type: 'order', id }, payload: { id, userId: null, paymentId: `p-${id}`, total: { amount: 1000, currency: 'EUR' }, items: [] } }));
  return {
    plinth, arrivals, emit, addEndpoint,
    received: () => received,
    waitFor: (check) => new Promise((resolve) => {
      if (check()) return resolve();
      onReceive = () => { if (check()) { onReceive = () => {}; resolve(); } };
    }),
    async close() {
      await plinth.close();
      await new Promise((resolve) => receiver.close(resolve));
      await cleanup();
    },
  };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export async function measureLatency({ dialect }) {
  const s = await setUp(dialect);
  try {
    await s.addEndpoint();
    const worker = createWorker(s.plinth, { concurrency: 10 });
    await worker.start();
    const latencies = [];
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < EVENTS + 20; i++) {
      const id = `o-${i}`;
      await s.emit(id);
      const committed = performance.now();
      await s.waitFor(() => s.arrivals.has(id));
      if (i >= 20) latencies.push(s.arrivals.get(id) - committed); // the first 20 warm up
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    await worker.stop();
    latencies.sort((a, b) => a - b);
    return { opsPerSec: (EVENTS + 20) / seconds, ops: EVENTS + 20, seconds, cpuMs: (cpu.user + cpu.system) / 1000, latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) } };
  } finally {
    await s.close();
  }
}

export async function measureFanOut({ dialect }) {
  const s = await setUp(dialect);
  try {
    for (let i = 0; i < ENDPOINTS; i++) await s.addEndpoint();
    for (let i = 0; i < EVENTS; i++) await s.emit(`o-${i}`);
    const total = EVENTS * ENDPOINTS;
    const worker = createWorker(s.plinth, { concurrency: 10 });
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await worker.start();
    await s.waitFor(() => s.received() >= total);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    await worker.stop();
    return { opsPerSec: total / seconds, ops: total, seconds, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    await s.close();
  }
}
