/**
 * The realtime log through the service: one entry per event however often its job runs,
 * wildcard subscribers, pruning and the reset notice of a resume that cannot be gapless,
 * and the slow-client rule (a client that takes no data is disconnected).
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createWorker, type RealtimeService } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { commerceWorld } from '../commerce/support.js';
import { useHarness } from '../support/harness.js';
import { openSse } from './sse.js';

const event = (id: string, userId: string | null, type = 'order.created') => ({
  id,
  type,
  aggregate: { type: 'order', id: `o-${id}` },
  payload: { id: `o-${id}`, userId },
  createdAt: new Date().toISOString(),
});

describe.each(dialects)('the realtime log on %s', (dialect) => {
  const h = useHarness();

  it('appends an event once however often its job runs; every order event has a realtime job', async () => {
    const w = await commerceWorld(h, dialect);
    const realtime = w.app.plinth.service<RealtimeService>('realtime');
    expect(await realtime.publish(event('e1', w.ann.id))).toBe(true);
    expect(await Promise.all([realtime.publish(event('e1', w.ann.id)), realtime.publish(event('e1', w.ann.id))])).toEqual([false, false]);
    const rows = await w.app.plinth.db.selectFrom('plinth_realtime_events').select(['seq', 'event_id', 'owner_id', 'topic']).execute();
    expect(rows.map((r) => [Number(r.seq), r.event_id, r.owner_id, r.topic])).toEqual([[1, 'e1', w.ann.id, 'orders']]);
    // An event of no topic is not logged.
    expect(await realtime.publish({ ...event('e2', null), type: 'product.created' })).toBe(false);

    // `order.*` subscribes the publish job to every order event (the dispatcher makes one per event).
    await w.product({ skus: [{ sku: 'CUP', amount: 100, stock: 5 }] });
    const placed = await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'CUP', quantity: 1 }] });
    expect(placed.status).toBe(201);
    const worker = createWorker(w.app.plinth, { concurrency: 2 });
    await worker.start();
    h.defer(() => worker.stop({ timeoutMs: 2000 }));
    await worker.drain({ timeoutMs: 20_000 });
    const jobs = await w.app.plinth.db.selectFrom('plinth_jobs').select(['type', 'state']).where('type', '=', 'realtime.publish').execute();
    expect(jobs).toEqual([{ type: 'realtime.publish', state: 'completed' }]);
    const logged = await w.app.plinth.db.selectFrom('plinth_realtime_events').select(['type', 'aggregate_id']).where('aggregate_id', '=', placed.body.id).execute();
    expect(logged).toEqual([{ type: 'order.created', aggregate_id: placed.body.id }]);
  });

  it('a resume from before the retention window gets a reset notice, then the events still kept', async () => {
    const w = await commerceWorld(h, dialect, { realtime: { retentionHours: 1 } });
    const realtime = w.app.plinth.service<RealtimeService>('realtime');
    for (const id of ['a', 'b', 'c']) await realtime.publish(event(id, w.ann.id));
    // a and b were published two hours ago.
    const old = new Date(Date.now() - 2 * 3_600_000).toISOString();
    await w.app.plinth.db.updateTable('plinth_realtime_events').set({ published_at: old }).where('event_id', 'in', ['a', 'b']).execute();
    expect(await realtime.prune()).toBe(2);

    const resumed = await openSse(`${w.app.url}/v1/events?topics=orders`, { authorization: `Bearer ${w.ann.token}`, 'last-event-id': '1' });
    h.defer(() => resumed.close());
    await resumed.waitFor((m) => m.data?.eventId === 'c', 'the kept event');
    expect(resumed.events.map((m) => [m.event, m.id])).toEqual([
      ['reset', undefined],
      ['order.created', '3'],
    ]);
    expect(resumed.events[0]!.data).toEqual({ reason: 'expired', resumedAfter: '2' });

    // An id ahead of the log (another database): reset, then only new events.
    const ahead = await openSse(`${w.app.url}/v1/events?topics=orders`, { authorization: `Bearer ${w.ann.token}`, 'last-event-id': '999' });
    h.defer(() => ahead.close());
    await realtime.publish(event('d', w.ann.id));
    await ahead.waitFor((m) => m.data?.eventId === 'd', 'the new event');
    expect(ahead.events.map((m) => m.event)).toEqual(['reset', 'order.created']);
    expect(ahead.events[0]!.data).toEqual({ reason: 'unknown_id', resumedAfter: '3' });
  });
});

describe('slow clients', () => {
  const h = useHarness();

  it('a client that stops reading is disconnected after realtime.writeTimeoutMs; the server holds no more than its socket buffer', async () => {
    const w = await commerceWorld(h, 'sqlite', { realtime: { writeTimeoutMs: 500, pollIntervalMs: 50 } });
    const realtime = w.app.plinth.service<RealtimeService>('realtime');
    const { port } = new URL(w.app.url);
    const socket = connect(Number(port), '127.0.0.1');
    h.defer(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`GET /v1/events?topics=orders HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${w.staff.token}\r\nAccept: text/event-stream\r\n\r\n`);
    let received = 0;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.once('data', (chunk) => {
      received += chunk.length;
      socket.pause(); // reads the response head, then never again
    });
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const check = () => (realtime.connections === 1 ? resolve() : Date.now() > deadline ? reject(new Error('not connected')) : setTimeout(check, 20));
      check();
    });
    // 40 MB of events: far more than the socket buffers hold.
    const big = 'x'.repeat(64 * 1024);
    const db = w.app.plinth.db;
    const now = new Date().toISOString();
    await w.app.plinth.transaction(async ({ db: trx }) => {
      for (let i = 1; i <= 640; i++) {
        await trx.insertInto('plinth_realtime_events').values({
          seq: i, event_id: `big-${i}`, type: 'order.created', topic: 'orders', aggregate_type: 'order', aggregate_id: `o${i}`,
          owner_id: null, payload: JSON.stringify({ big }), created_at: now, published_at: now,
        }).execute();
      }
      await trx.updateTable('plinth_realtime_head').set({ seq: 640 }).where('id', '=', 1).execute();
    });
    expect(await db.selectFrom('plinth_realtime_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()).toEqual({ n: 640 });
    // The server gives up on the client (its stream ends) while the client still reads nothing.
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 15_000;
      const check = () => (realtime.connections === 0 ? resolve() : Date.now() > deadline ? reject(new Error('the slow client was not disconnected')) : setTimeout(check, 20));
      check();
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    // Reading again: what the buffers held, then the connection is gone; far less than was logged.
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.on('error', () => undefined);
    socket.resume();
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the connection is still open')), 10_000))]);
    expect(received).toBeLessThan(40 * 1024 * 1024);
  });
});
