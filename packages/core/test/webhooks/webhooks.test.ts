/**
 * Outbound webhooks against a real HTTP receiver started in the test: it fails, times out,
 * then recovers; the delivery is retried on the schedule and arrives, its signature checked
 * with an independent Standard Webhooks verifier. An endpoint that always fails is disabled
 * and the admins are told. Private targets are refused at registration and at send time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createWorker, type Plinth } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { commerceWorld, problem } from '../commerce/support.js';
import { waitFor } from '../jobs/support.js';
import { useHarness } from '../support/harness.js';

/** The Standard Webhooks verifier, written from the spec (not from the module's code). */
function verify(secret: string, headers: IncomingHttpHeaders, body: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',');
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface Hit {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver whose answer to each request is decided by `behave(n)` (n from 1). */
async function receiver(h: ReturnType<typeof useHarness>, behave: (n: number) => number | 'hang') {
  const hits: Hit[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    hits.push({ at: Date.now(), headers: req.headers, body });
    const action = behave(hits.length);
    if (action === 'hang') return; // never answers; the sender's timeout ends it
    res.writeHead(action, { 'content-type': 'text/plain' }).end(action >= 300 ? `nope ${'x'.repeat(5000)}` : 'ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  h.defer(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { hits, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks` };
}

const fastJobs = { pollIntervalMs: 20, leaseSeconds: 5, shutdownTimeoutMs: 2000 };

async function startWorker(h: ReturnType<typeof useHarness>, plinth: Plinth) {
  const worker = createWorker(plinth, { concurrency: 4 });
  h.defer(() => worker.stop({ timeoutMs: 1000 }));
  await worker.start();
}

describe.each(dialects)('webhooks on %s', (dialect) => {
  const h = useHarness();

  it('a receiver that fails, times out, then recovers: retried on the schedule, signed per Standard Webhooks, delivered once; replay and secret rotation', async () => {
    const rx = await receiver(h, (n) => (n === 1 ? 500 : n === 2 ? 'hang' : 200));
    const w = await commerceWorld(h, dialect, {
      webhooks: { allowPrivate: true, timeoutMs: 300, retryScheduleMs: [200, 400, 800, 1600], disableAfterFailures: 10, responseMaxChars: 100 },
      outbound: { failureThreshold: 100 },
      jobs: fastJobs,
    });
    // Validation, authentication and permission.
    problem(await w.call('POST', '/v1/webhook-endpoints', w.ann, { url: rx.url, events: ['order.created'] }), 403, 'auth.forbidden');
    problem(await w.call('POST', '/v1/webhook-endpoints', w.staff, { url: rx.url, events: ['order.created'] }), 403, 'auth.forbidden');
    problem(await w.call('POST', '/v1/webhook-endpoints', null, { url: rx.url, events: ['order.created'] }), 401, 'auth.unauthenticated');
    problem(await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: 'ftp://example.com/x', events: ['order.created'] }), 422, 'webhooks.url_not_allowed');
    problem(await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: rx.url, events: ['order.teleported'] }), 422, 'webhooks.unknown_event');
    problem(await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: rx.url }), 422, 'validation.failed');
    problem(await w.call('GET', '/v1/webhook-endpoints/nope', w.admin), 404, 'webhooks.not_found');
    expect((await w.call('GET', '/v1/webhook-endpoints', w.admin)).body.data).toEqual([]);

    const created = await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: rx.url, events: ['order.created'], description: 'ERP' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id: endpointId, secret } = created.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await w.call('GET', `/v1/webhook-endpoints/${endpointId}`, w.staff)).toMatchObject({ status: 200, body: { url: rx.url, enabled: true, events: ['order.created'] } });
    expect((await w.call('GET', `/v1/webhook-endpoints/${endpointId}`, w.staff)).body.secret).toBeUndefined();

    await startWorker(h, w.app.plinth);
    await w.product({ name: 'Lamp', skus: [{ sku: 'LAMP', amount: 3000, stock: 5 }] });
    const order = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'LAMP', quantity: 1 }] })).body;

    const deliveries = () => w.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries`, w.admin);
    await waitFor(async () => (await deliveries()).body.data[0]?.status === 'succeeded', 'the delivery to succeed', 20_000);
    expect(rx.hits).toHaveLength(3);
    const [first, second, third] = rx.hits as [Hit, Hit, Hit];
    // One message id across attempts; each attempt signed afresh and verifiable.
    expect(new Set(rx.hits.map((hit) => hit.headers['webhook-id'])).size).toBe(1);
    for (const hit of rx.hits) expect(verify(secret, hit.headers, hit.body)).toBe(true);
    expect(verify('whsec_' + Buffer.alloc(32, 1).toString('base64'), third.headers, third.body)).toBe(false);
    expect(verify(secret, third.headers, third.body.replace('order.created', 'order.paid'))).toBe(false);
    expect(JSON.parse(third.body)).toMatchObject({ type: 'order.created', data: { id: order.id } });
    // The schedule: 200 ms after the 500, then 400 ms after the timeout (300 ms). The timeout counts
    // from the attempt's start, which the receiver sees a few ms later (connect, send) on a busy box.
    expect(second.at - first.at).toBeGreaterThanOrEqual(200);
    expect(third.at - second.at).toBeGreaterThanOrEqual(700 - 50);

    const [delivery] = (await deliveries()).body.data;
    expect(delivery).toMatchObject({ eventType: 'order.created', status: 'succeeded', attempts: 3, lastStatusCode: 200, lastError: null });
    const detail = (await w.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries/${delivery.id}`, w.staff)).body;
    expect(detail.payload).toMatchObject({ type: 'order.created', data: { id: order.id } });
    expect(detail.attemptLog).toMatchObject([
      { attempt: 1, statusCode: 500, error: 'receiver answered 500' },
      { attempt: 2, statusCode: null },
      { attempt: 3, statusCode: 200, response: 'ok', error: null },
    ]);
    expect(detail.attemptLog[0].response).toHaveLength(100); // truncated
    expect(detail.attemptLog[1].error).toMatch(/did not answer within 300 ms/);
    problem(await w.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?status=lost`, w.admin), 422, 'validation.failed');

    // Manual replay of one delivery: the same message again.
    problem(await w.call('POST', `/v1/webhook-endpoints/${endpointId}/deliveries/${delivery.id}/replay`, w.staff), 403, 'auth.forbidden');
    problem(await w.call('POST', `/v1/webhook-endpoints/${endpointId}/deliveries/nope/replay`, w.admin), 404, 'webhooks.not_found');
    const replay = await w.call('POST', `/v1/webhook-endpoints/${endpointId}/deliveries/${delivery.id}/replay`, w.admin);
    expect(replay.status).toBe(202);
    await waitFor(() => rx.hits.length === 4, 'the replayed delivery');
    expect(rx.hits[3]!.headers['webhook-id']).toBe(delivery.id);

    // Rotation: during the overlap both secrets sign.
    const rotated = await w.call('POST', `/v1/webhook-endpoints/${endpointId}/rotate-secret`, w.admin);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt)).toBeGreaterThan(Date.now() + 23 * 3600_000);
    await w.call('POST', `/v1/webhook-endpoints/${endpointId}/deliveries/${delivery.id}/replay`, w.admin);
    await waitFor(() => rx.hits.length === 5, 'the delivery signed with both secrets');
    const signed = rx.hits[4]!;
    expect(String(signed.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(rotated.body.secret, signed.headers, signed.body)).toBe(true);
    expect(verify(secret, signed.headers, signed.body)).toBe(true);

    const audit = (await w.call('GET', '/v1/audit?limit=100', w.admin)).body.data.map((e: any) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['webhooks.endpoint.created', 'webhooks.delivery.replayed', 'webhooks.endpoint.secret_rotated']));
    expect(w.app.logs.join('')).not.toContain(secret.slice(6, 30));
  }, 90_000);
});

describe('webhooks that keep failing, and private targets (sqlite)', () => {
  const h = useHarness();

  it('an endpoint that always fails is disabled and the admins are notified; enabled again, a range replay delivers what it missed', async () => {
    let healthy = false;
    const rx = await receiver(h, () => (healthy ? 204 : 500));
    const gone = await receiver(h, () => 410);
    const w = await commerceWorld(h, 'sqlite', {
      webhooks: { allowPrivate: true, timeoutMs: 1000, retryScheduleMs: [30, 30, 30, 30, 30, 30], disableAfterFailures: 3 },
      outbound: { failureThreshold: 100 },
      jobs: fastJobs,
    });
    const since = new Date(Date.now() - 1000).toISOString();
    const endpoint = (await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: rx.url, events: ['*'] })).body;
    const goneEndpoint = (await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: gone.url, events: ['order.created'] })).body;
    await startWorker(h, w.app.plinth);
    await w.product({ name: 'Pen', skus: [{ sku: 'PEN', amount: 100, stock: 50 }] });
    await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'PEN', quantity: 1 }] });

    const get = async (id: string) => (await w.call('GET', `/v1/webhook-endpoints/${id}`, w.admin)).body;
    await waitFor(async () => !(await get(endpoint.id)).enabled, 'the failing endpoint to be disabled', 20_000);
    expect(await get(endpoint.id)).toMatchObject({ enabled: false, disabledReason: '3 failed attempts in a row', consecutiveFailures: 3 });
    expect(rx.hits).toHaveLength(3);
    await waitFor(async () => !(await get(goneEndpoint.id)).enabled, 'the 410 endpoint to be disabled');
    expect(await get(goneEndpoint.id)).toMatchObject({ disabledReason: 'the receiver answered 410 Gone' });
    expect(gone.hits).toHaveLength(1); // 410: never retried
    // Failures show in /metrics: 2 attempts retried and 1 failed for good at the first endpoint, 1 failed at the 410 one.
    // An attempt is counted after its transaction commits, so the last count may trail the endpoint's state a little.
    const failedForGood = /plinth_webhook_attempts_total\{outcome="failed"\} 2\b/;
    const metrics = await waitFor(async () => {
      const text = await w.app.plinth.metrics.metrics();
      return failedForGood.test(text) ? text : undefined;
    }, 'both final failures to be counted');
    expect(metrics).toMatch(/plinth_webhook_attempts_total\{outcome="retry"\} 2\b/);

    // Every admin hears about it, in-app (and by email).
    const inbox = await waitFor(async () => {
      const list = (await w.call('GET', '/v1/notifications', w.admin)).body.data.filter((n: any) => n.template === 'webhooks.endpoint_disabled');
      return list.length === 2 ? list : undefined;
    }, 'the admin notifications');
    expect(inbox.map((n: any) => n.body).sort()).toEqual([`${gone.url} was disabled: the receiver answered 410 Gone`, `${rx.url} was disabled: 3 failed attempts in a row`].sort());
    expect((await w.call('GET', '/v1/notifications', w.ann)).body.data.filter((n: any) => n.template === 'webhooks.endpoint_disabled')).toEqual([]);

    // Disabled: no new deliveries, and no replay until enabled.
    await w.call('POST', '/v1/orders', w.bob, { items: [{ sku: 'PEN', quantity: 1 }] });
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.hits).toHaveLength(3);
    problem(await w.call('POST', `/v1/webhook-endpoints/${endpoint.id}/replay`, w.admin, { since }), 409, 'webhooks.invalid_state');
    problem(await w.call('POST', `/v1/webhook-endpoints/${endpoint.id}/replay`, w.admin, { since: 'yesterday' }), 422, 'validation.failed');
    problem(await w.call('PATCH', `/v1/webhook-endpoints/${endpoint.id}`, w.admin, { enabled: true, version: 1 }), 409, 'resource.version_conflict');
    const enabled = await w.call('PATCH', `/v1/webhook-endpoints/${endpoint.id}`, w.admin, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, consecutiveFailures: 0 });

    healthy = true;
    const replayed = await w.call('POST', `/v1/webhook-endpoints/${endpoint.id}/replay`, w.admin, { since });
    expect(replayed).toMatchObject({ status: 202, body: { replayed: 1 } });
    await waitFor(async () => (await w.call('GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries?status=succeeded`, w.admin)).body.data.length === 1, 'the replayed delivery');
    expect(rx.hits.at(-1)!.headers['webhook-id']).toBe(rx.hits[0]!.headers['webhook-id']);

    expect((await w.call('DELETE', `/v1/webhook-endpoints/${goneEndpoint.id}`, w.admin)).status).toBe(204);
    problem(await w.call('GET', `/v1/webhook-endpoints/${goneEndpoint.id}`, w.admin), 404, 'webhooks.not_found');
  }, 90_000);

  it('refuses loopback and private targets at registration, and again at send time', async () => {
    const rx = await receiver(h, () => 200);
    const w = await commerceWorld(h, 'sqlite', { webhooks: { retryScheduleMs: [20] }, jobs: fastJobs });
    problem(await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: rx.url, events: ['order.created'] }), 422, 'webhooks.url_not_allowed');
    problem(await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: 'http://localhost:9/x', events: ['order.created'] }), 422, 'webhooks.url_not_allowed');
    problem(await w.call('POST', '/v1/webhook-endpoints', w.admin, { url: 'http://169.254.169.254/latest/meta-data', events: ['order.created'] }), 422, 'webhooks.url_not_allowed');
    expect((await w.call('GET', '/v1/webhook-endpoints', w.admin)).body.data).toEqual([]);

    // A host that resolved publicly at registration and privately now (DNS rebinding): refused when sending.
    const now = new Date().toISOString();
    for (const [id, url] of [['e-ip', rx.url], ['e-dns', rx.url.replace('127.0.0.1', 'localhost')]] as const) {
      await w.app.plinth.db.insertInto('webhook_endpoints').values({
        id, url, description: null, events: '["order.created"]', enabled: 1, secret: w.app.plinth.secrets.encrypt('whsec_' + Buffer.alloc(32, 7).toString('base64'), `webhook_endpoint:${id}`),
        previous_secret: null, previous_secret_expires_at: null, consecutive_failures: 0, disabled_reason: null, disabled_at: null, created_by: null, version: 1, created_at: now, updated_at: now,
      }).execute();
    }
    await startWorker(h, w.app.plinth);
    await w.product({ name: 'Cup', skus: [{ sku: 'CUP', amount: 100, stock: 5 }] });
    await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'CUP', quantity: 1 }] });
    for (const id of ['e-ip', 'e-dns']) {
      const failed = await waitFor(async () => {
        const list = (await w.call('GET', `/v1/webhook-endpoints/${id}/deliveries?status=failed`, w.admin)).body.data;
        return list[0];
      }, `the ${id} delivery to fail`, 15_000);
      expect(failed.lastError).toMatch(/private address; refused/);
    }
    expect(rx.hits).toEqual([]);
  }, 60_000);
});
