import { type AccessService, createPlinth, createWorker, type Plinth, type Worker } from '@plinth/core';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { createServer, type PlinthServer } from '@plinth/server';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from './node.js';
import { createSseParser, isPlinthApiError, type PlinthApiError, type RealtimeEvent } from './index.js';
import type { FetchLike } from './types.js';

const password = 'correct horse battery';

async function until(what: string, fn: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('client.events against a real server', () => {
  let db: TestDatabase;
  let plinth: Plinth;
  let server: PlinthServer;
  let worker: Worker;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    plinth = createPlinth({
      databaseUrl: db.url, processEnv: false, logLevel: 'silent',
      jobs: { pollIntervalMs: 50 }, realtime: { pollIntervalMs: 100 },
      auth: { passwordMemoryKib: 8192, passwordIterations: 1 },
    });
    await plinth.start();
    server = createServer(plinth, { port: 0, shutdownTimeoutMs: 2000 });
    ({ url } = await server.listen());
    worker = createWorker(plinth, { concurrency: 4 });
    await worker.start();
    const staff = await signedIn(['staff']);
    await staff.createProduct({ body: { name: 'Teapot', skus: [{ sku: 'TEAPOT', price: { amount: 3500, currency: 'EUR' } }] } });
    await staff.createAdjustment({ params: { sku: 'TEAPOT' }, body: { delta: 100, reason: 'receipt' } });
  });
  afterAll(async () => {
    await worker?.stop({ timeoutMs: 2000 });
    await server?.close();
    await db?.drop();
  });

  let n = 0;
  async function signedIn(roles?: string[], fetch?: FetchLike) {
    const client = createClient({ baseUrl: url, ...(fetch ? { fetch } : {}) });
    const signed = await client.signUp({ body: { email: `events-${++n}-${Date.now()}@example.com`, password } });
    if (roles) {
      await plinth.service<AccessService>('access').setRoles(signed.user.id, roles, { actor: { kind: 'system', name: 'test' } });
      await client.refresh({ body: { refreshToken: signed.refreshToken } });
    }
    return { ...client, userId: signed.user.id };
  }

  it('subscribes, receives its order created and cancelled in order; staff follow through the async iterator', async () => {
    const ann = await signedIn();
    const staff = await signedIn(['staff']);
    const received: RealtimeEvent[] = [];
    let opened = 0;
    const subscription = ann.events.subscribe({ topics: ['orders'] }, (event) => received.push(event), { onOpen: () => opened++ });
    const iterator = staff.events.stream({ topics: ['orders'] });
    await until('the stream to open', () => opened === 1);

    const order = await ann.createOrder({ body: { items: [{ sku: 'TEAPOT', quantity: 1 }] } });
    await ann.cancelOrder({ params: { id: order.id }, body: { version: order.version } });
    await until('two events', () => received.length >= 2);
    expect(received.map((e) => [e.type, e.aggregate?.id])).toEqual([
      ['order.created', order.id],
      ['order.cancelled', order.id],
    ]);
    expect(received[0]!.payload).toMatchObject({ id: order.id, userId: ann.userId });
    expect(subscription.lastEventId).toBe(received[1]!.seq);

    const seenByStaff: string[] = [];
    for await (const event of iterator) {
      if (event.aggregate?.id !== order.id) continue;
      seenByStaff.push(event.type);
      if (seenByStaff.length === 2) break; // closes the subscription
    }
    expect(seenByStaff).toEqual(['order.created', 'order.cancelled']);
    subscription.close();
    await subscription.done;
  });

  it('reconnects after the connection drops and resumes after the last event: nothing missed, nothing twice', async () => {
    const sent: Record<string, string>[] = [];
    const recording: FetchLike = (u, init) => {
      if (u.includes('/v1/events')) sent.push({ ...init.headers });
      return undiciFetch(u, init) as never;
    };
    const streamSockets: import('node:net').Socket[] = [];
    const track = (req: import('node:http').IncomingMessage) => {
      if (req.url?.startsWith('/v1/events')) streamSockets.push(req.socket);
    };
    server.server.on('request', track);
    const ann = await signedIn(undefined, recording);
    const received: RealtimeEvent[] = [];
    const errors: PlinthApiError[] = [];
    let opened = 0;
    const subscription = ann.events.subscribe({ topics: ['orders'] }, (e) => received.push(e), {
      onOpen: () => opened++,
      onError: (error) => errors.push(error),
      initialDelayMs: 50,
    });
    await until('the stream to open', () => opened === 1);
    const first = await ann.createOrder({ body: { items: [{ sku: 'TEAPOT', quantity: 1 }] } });
    await until('the first event', () => received.length === 1);

    for (const socket of streamSockets) socket.destroy(); // the network drops the stream's connection
    const second = await ann.createOrder({ body: { items: [{ sku: 'TEAPOT', quantity: 1 }] } });
    const third = await ann.createOrder({ body: { items: [{ sku: 'TEAPOT', quantity: 1 }] } });
    await until('both later events', () => received.length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.map((e) => e.aggregate?.id)).toEqual([first.id, second.id, third.id]);
    expect(opened).toBeGreaterThanOrEqual(2);
    expect(sent[0]!['last-event-id']).toBeUndefined();
    expect(sent[1]!['last-event-id']).toBe(received[0]!.seq);
    expect(sent[1]!.authorization).toMatch(/^Bearer /);
    subscription.close();
    await subscription.done;
    server.server.off('request', track);
  });

  it('a refused subscription ends with the server problem and does not retry', async () => {
    const nobody = await signedIn([]);
    const errors: { error: PlinthApiError; willRetry: boolean }[] = [];
    const subscription = nobody.events.subscribe({ topics: ['orders'] }, () => undefined, { onError: (error, info) => errors.push({ error, willRetry: info.willRetry }) });
    await subscription.done;
    expect(errors.map((e) => [e.error.status, e.error.code, e.willRetry])).toEqual([[403, 'realtime.topic_forbidden', false]]);

    const iterator = nobody.events.stream({ topics: ['payroll'] });
    const failure = await iterator.next().catch((e: unknown) => e);
    expect(isPlinthApiError(failure) && failure.code).toBe('validation.failed');
    expect(() => nobody.events.subscribe({ topics: [] }, () => undefined)).toThrow(TypeError);
  });
});

describe('createSseParser', () => {
  it('reads fields, multi-line data, comments, retry and every line ending, across chunk boundaries', () => {
    const messages: unknown[] = [];
    const parser = createSseParser((m) => messages.push(m));
    const text = ': hello\r\nretry: 1500\r\n\r\nid: 7\revent: order.paid\rdata: {"a":\rdata: 1}\r\rid: 8\ndata: x\n\n';
    for (const chunk of text.match(/[\s\S]{1,3}/g)!) parser.push(chunk);
    expect(messages).toEqual([{ retry: 1500 }, { id: '7', event: 'order.paid', data: '{"a":\n1}' }, { id: '8', data: 'x' }]);
  });
});
