/**
 * `GET /v1/events` over real HTTP: events arrive after commit, in order, only to callers allowed
 * to read them; a reconnect with `Last-Event-ID` replays what it missed; heartbeats; a server
 * restart between commit and dispatch loses nothing; server close does not hang on open streams.
 */
import { describe, expect, it } from 'vitest';
import { builtinModules, createFakeProvider, createPaymentsModule, createWorker, type CreatePlinthOptions } from '../../src/index.js';
import type { AccessService } from '../../src/modules/access/service.js';
import { dialects, type TestDialect } from '../../src/testing/index.js';
import { as, system } from '../access/support.js';
import { commerceWorld, problem, type Who } from '../commerce/support.js';
import { useHarness } from '../support/harness.js';
import { openSse } from './sse.js';

const SECRET = 'whsec_test_0123456789abcdef';

describe.each(dialects)('realtime events on %s', (dialect: TestDialect) => {
  const h = useHarness();

  async function shop(options: CreatePlinthOptions & { worker?: boolean } = {}) {
    const { worker: withWorker = true, ...plinthOptions } = options;
    let url = '';
    const fake = createFakeProvider({ secret: SECRET, webhookUrl: () => `${url}/v1/payments/webhooks/fake`, confirmAfterMs: 20 });
    const payments = createPaymentsModule({ providers: { fake } });
    const w = await commerceWorld(h, dialect, {
      builtins: builtinModules.map((m) => (m.name === 'payments' ? payments : m)),
      jobs: { pollIntervalMs: 50 },
      realtime: { pollIntervalMs: 100 },
      ...plinthOptions,
    });
    url = w.app.url;
    if (withWorker) {
      const worker = createWorker(w.app.plinth, { concurrency: 4 });
      await worker.start();
      h.defer(() => worker.stop({ timeoutMs: 2000 }));
    }
    await w.product({ name: 'Mug', skus: [{ sku: 'MUG', amount: 500, stock: 50 }] });
    const stream = async (who: Who | null, query = 'topics=orders', headers: Record<string, string> = {}) => {
      const conn = await openSse(`${w.app.url}/v1/events?${query}`, { ...(who ? { authorization: `Bearer ${who.token}` } : {}), ...headers });
      h.defer(() => conn.close());
      return conn;
    };
    const order = async (who: Who, quantity = 1) => {
      const res = await w.call('POST', '/v1/orders', who, { items: [{ sku: 'MUG', quantity }] });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { id: string; version: number };
    };
    return { ...w, fake, stream, order };
  }

  it('a customer sees their order created then paid; staff see it too; another customer sees nothing of it', async () => {
    const w = await shop();
    const ann = await w.stream(w.ann);
    const bob = await w.stream(w.bob);
    const staff = await w.stream(w.staff);
    expect(ann.status).toBe(200);
    expect(ann.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(ann.headers.get('cache-control')).toBe('no-store');

    // Another client of Ann's places and pays the order.
    const order = await w.order(w.ann);
    const paid = await w.call('POST', `/v1/orders/${order.id}/payments`, w.ann);
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);

    const isPaid = (m: { event: string; data: any }) => m.event === 'order.paid' && m.data.aggregate?.id === order.id;
    await ann.waitFor(isPaid, 'order.paid for Ann');
    const annOrder = ann.events.filter((m) => m.data.aggregate?.id === order.id);
    expect(annOrder.map((m) => m.event)).toEqual(['order.created', 'order.paid']);
    const [created, paidEvent] = annOrder;
    expect(created!.data).toMatchObject({ type: 'order.created', topic: 'orders', aggregate: { type: 'order', id: order.id }, payload: { id: order.id, userId: w.ann.id } });
    expect(created!.id).toBe(created!.data.seq);
    expect(Number(paidEvent!.id)).toBeGreaterThan(Number(created!.id));
    await staff.waitFor(isPaid, 'order.paid for staff');
    expect(staff.events.filter((m) => m.data.aggregate?.id === order.id).map((m) => m.event)).toEqual(['order.created', 'order.paid']);

    // Bob's own order reaches him, after Ann's in the log: had he been sent hers, they would be here by now.
    const bobs = await w.order(w.bob);
    await bob.waitFor((m) => m.event === 'order.created' && m.data.aggregate?.id === bobs.id, "Bob's order");
    expect(bob.events.every((m) => m.data.payload.userId === w.bob.id)).toBe(true);
    expect(bob.events.map((m) => m.data.aggregate.id)).toEqual([bobs.id]);
    expect(ann.events.some((m) => m.data.aggregate?.id === bobs.id)).toBe(false);
    await staff.waitFor((m) => m.data.aggregate?.id === bobs.id, "Bob's order for staff");
  });

  it('a reconnect with Last-Event-ID gets exactly what it missed, in order; ?lastEventId= and ?access_token= work too', async () => {
    const w = await shop();
    const first = await w.stream(w.ann);
    const a = await w.order(w.ann);
    const seen = await first.waitFor((m) => m.data.aggregate?.id === a.id, 'the first order');
    first.close();

    // Missed while disconnected: a cancel and a new order.
    const cancelled = await w.call('POST', `/v1/orders/${a.id}/cancel`, w.ann, { version: a.version });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    const b = await w.order(w.ann);
    await new Promise((r) => setTimeout(r, 300));

    const again = await w.stream(w.ann, 'topics=orders', { 'last-event-id': seen.id! });
    const last = await again.waitFor((m) => m.data.aggregate?.id === b.id, 'the second order');
    const replayed = again.events.slice(0, again.events.indexOf(last) + 1);
    expect(replayed.map((m) => [m.event, m.data.aggregate.id])).toEqual([
      ['order.cancelled', a.id],
      ['order.created', b.id],
    ]);
    expect(replayed.every((m) => Number(m.id) > Number(seen.id))).toBe(true);

    // Browsers' EventSource cannot send headers: the query forms.
    const byQuery = await w.stream(null, `topics=orders&access_token=${encodeURIComponent(w.ann.token)}&lastEventId=${seen.id}`);
    await byQuery.waitFor((m) => m.data.aggregate?.id === b.id, 'the replay over query parameters');
    expect(byQuery.events[0]!.event).toBe('order.cancelled');
    expect(byQuery.retry).toBe(1000);
  });

  it('refuses bad subscriptions with a problem and opens nothing', async () => {
    const w = await shop({ worker: false });
    problem(await w.call('GET', '/v1/events?topics=orders', null), 401, 'auth.unauthenticated');
    problem(await w.call('GET', '/v1/events', w.ann), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/events?topics=', w.ann), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/events?topics=Orders!', w.ann), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/events?topics=payroll', w.ann), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/events?topics=orders', w.ann, undefined, { 'last-event-id': 'abc' }), 400, 'realtime.invalid_event_id');
    problem(await w.call('GET', '/v1/events?topics=orders&lastEventId=-1', w.ann), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/events?topics=orders&access_token=garbage', null), 401, 'auth.invalid_token');
    // A user without any role may not read orders at all.
    const nobody = await w.person();
    await w.app.plinth.service<AccessService>('access').setRoles(nobody.id, [], as(system));
    const refreshedToken = (await w.call('POST', '/v1/auth/sign-in', null, { email: nobody.email, password: 'correct horse battery' })).body.accessToken;
    problem(await w.call('GET', '/v1/events?topics=orders', { ...nobody, token: refreshedToken }), 403, 'realtime.topic_forbidden');
    expect(w.app.plinth.service<{ connections: number }>('realtime').connections).toBe(0);
  });

  it('sends heartbeat comments on an idle stream and ends the stream once its credentials stop being valid', async () => {
    const w = await shop({ worker: false, realtime: { heartbeatSeconds: 1 } });
    const created = await w.call('POST', '/v1/api-keys', w.ann, { name: 'live orders', scopes: ['orders:read:own'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const conn = await w.stream(null, 'topics=orders', { 'x-api-key': created.body.key });
    expect(conn.status).toBe(200);
    await until('two heartbeats', async () => conn.comments.filter((c) => c === 'heartbeat').length >= 2, 8000);
    expect(conn.events).toEqual([]);
    // Revoking the key: the next check (about once a heartbeat) ends the stream.
    const revoked = await w.call('DELETE', `/v1/api-keys/${created.body.id}`, w.ann);
    expect(revoked.status).toBe(204);
    await Promise.race([conn.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('stream still open')), 8000))]);
    await until('the stream to be forgotten', async () => w.app.plinth.service<{ connections: number }>('realtime').connections === 0, 3000);
  });

  it('an event committed before a restart, dispatched after it, still reaches a subscriber', async () => {
    const w = await shop({ worker: false });
    const order = await w.order(w.ann);
    const undispatched = await w.app.plinth.db.selectFrom('plinth_outbox').select('id').where('dispatched_at', 'is', null).where('aggregate_id', '=', order.id).execute();
    expect(undispatched.length).toBe(1);
    await w.app.server.close();

    const { startApp } = await import('../support/app.js');
    const restarted = await startApp(h, dialect, { db: w.app.db, jobs: { pollIntervalMs: 50 }, realtime: { pollIntervalMs: 100 } });
    const conn = await openSse(`${restarted.url}/v1/events?topics=orders`, { authorization: `Bearer ${w.ann.token}` });
    h.defer(() => conn.close());
    expect(conn.status).toBe(200);
    const worker = createWorker(restarted.plinth, { concurrency: 2 });
    await worker.start();
    h.defer(() => worker.stop({ timeoutMs: 2000 }));
    const got = await conn.waitFor((m) => m.event === 'order.created' && m.data.aggregate?.id === order.id, 'the order created before the restart');
    expect(got.data.payload.userId).toBe(w.ann.id);
    expect(conn.events.map((m) => m.event)).toEqual(['order.created']);
  });

  it('server close ends open streams at once instead of waiting for them', async () => {
    const w = await shop({ worker: false, http: { shutdownTimeoutMs: 10_000 } });
    const streams = await Promise.all([w.stream(w.ann), w.stream(w.bob), w.stream(w.staff)]);
    const started = Date.now();
    await w.app.server.close();
    expect(Date.now() - started).toBeLessThan(3000);
    await Promise.all(streams.map((s) => s.ended));
  });
});

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
