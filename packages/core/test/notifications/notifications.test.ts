/**
 * Notifications over real HTTP, a real SMTP server, a real HTTP SMS provider and real
 * workers: verification mail and order receipts arrive by SMTP, shipping notices honour
 * preferences, staff edit templates, an SMTP server that hangs trips the breaker without
 * slowing requests down and the mail goes out once it answers again.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  builtinModules, createFakeProvider, createHttpSmsProvider, createNotificationsModule, createPaymentsModule, createSmtpMailTransport, createWorker,
  type NotificationsService, type Plinth,
} from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { commerceWorld, problem } from '../commerce/support.js';
import { waitFor } from '../jobs/support.js';
import { signUp, startApp } from '../support/app.js';
import { useHarness } from '../support/harness.js';
import { startSmtp } from './smtp.js';

const fastJobs = { pollIntervalMs: 20, leaseSeconds: 5, shutdownTimeoutMs: 2000 };

function worker(h: ReturnType<typeof useHarness>, plinth: Plinth) {
  const w = createWorker(plinth, { concurrency: 4 });
  h.defer(() => w.stop({ timeoutMs: 1000 }));
  return w.start().then(() => w);
}

const deliveries = async (plinth: Plinth) =>
  (await plinth.db.selectFrom('notification_deliveries').selectAll().orderBy('id').execute()) as Array<Record<string, any>>;

describe.each(dialects)('notifications on %s', (dialect) => {
  const h = useHarness();

  it('verification mail, order receipt and shipping notice arrive at a real SMTP server; in-app notifications and preferences work', async () => {
    const smtp = await startSmtp();
    h.defer(() => smtp.close());
    let url = '';
    const fake = createFakeProvider({ secret: 'notifications-test-secret-0123456789', webhookUrl: () => `${url}/v1/payments/webhooks/fake`, confirmAfterMs: 20 });
    const w = await commerceWorld(h, dialect, {
      builtins: builtinModules.map((m) => (m.name === 'payments' ? createPaymentsModule({ providers: { fake } }) : m)),
      mailTransport: createSmtpMailTransport(smtp.url, 'Shop <shop@example.com>', { timeoutMs: 5000 }),
      jobs: fastJobs,
      appUrl: 'https://shop.example',
    });
    url = w.app.url;
    const plinth = w.app.plinth;

    // Sign-up mail went through the notifications module to the SMTP server.
    const verify = await waitFor(() => smtp.messages.find((m) => m.to.includes(w.ann.email.toLowerCase()) || m.to.includes(w.ann.email)), 'the verification mail');
    expect(verify.subject).toBe('Confirm your email address');
    expect(verify.from).toBe('shop@example.com');
    expect(verify.text).toMatch(/https:\/\/shop\.example\/verify-email\?token=plv_[\w-]{43}\n/);
    const tracked = (await deliveries(plinth)).find((d) => d.recipient === w.ann.email && d.template_key === 'identity.verify_email');
    expect(tracked).toMatchObject({ channel: 'email', status: 'sent', provider: 'smtp', attempts: 1, category: 'account' });
    expect(tracked!.provider_message_id).toBe(verify.messageId);
    expect(tracked!.variables).not.toContain('plv_'); // the link is a credential: stored encrypted

    await worker(h, plinth);
    await w.product({ name: 'Mug', skus: [{ sku: 'MUG', amount: 1250, stock: 10 }] });
    const order = (await w.call('POST', '/v1/orders', w.ann, { items: [{ sku: 'MUG', quantity: 1 }] })).body;
    expect((await w.call('POST', `/v1/orders/${order.id}/payments`, w.ann)).status).toBe(201);

    const receipt = await waitFor(() => smtp.messages.find((m) => m.subject === `Your receipt for order ${order.id}`), 'the receipt', 20_000);
    expect(receipt.to).toEqual([w.ann.email]);
    expect(receipt.text).toContain('We received your payment of €12.50');
    expect(receipt.text).toContain(`https://shop.example/orders/${order.id}`);

    // The in-app copy, read by its owner only.
    const inbox = await waitFor(async () => {
      const res = await w.call('GET', '/v1/notifications', w.ann);
      return res.body.data.length ? res.body : undefined;
    }, 'the in-app receipt');
    expect(inbox.data).toMatchObject([{ template: 'order.receipt', category: 'orders', title: 'Payment received', body: `We received your payment of €12.50 for order ${order.id}.`, read: false }]);
    const id = inbox.data[0].id;
    problem(await w.call('POST', `/v1/notifications/${id}/read`, w.bob), 404, 'notifications.not_found');
    problem(await w.call('GET', '/v1/notifications', null), 401, 'auth.unauthenticated');
    const read = await w.call('POST', `/v1/notifications/${id}/read`, w.ann);
    expect(read.body).toMatchObject({ id, read: true });
    expect((await w.call('GET', '/v1/notifications?unread=true', w.ann)).body.data).toEqual([]);

    // Ann turns shipping email off; receipts (transactional) cannot be.
    problem(await w.call('PUT', '/v1/me/notification-preferences', w.ann, { preferences: [{ category: 'orders', channel: 'email', enabled: false }] }), 422, 'notifications.not_opt_outable');
    problem(await w.call('PUT', '/v1/me/notification-preferences', w.ann, { preferences: [{ category: 'nope', channel: 'email', enabled: false }] }), 422, 'notifications.unknown_category');
    problem(await w.call('PUT', '/v1/me/notification-preferences', w.ann, { preferences: [{ category: 'shipping', channel: 'pigeon', enabled: false }] }), 422, 'validation.failed');
    const prefs = await w.call('PUT', '/v1/me/notification-preferences', w.ann, { preferences: [{ category: 'shipping', channel: 'email', enabled: false }] });
    expect(prefs.status).toBe(200);
    expect(prefs.body.data).toContainEqual({ category: 'shipping', channel: 'email', enabled: false, transactional: false });
    expect(prefs.body.data).toContainEqual({ category: 'orders', channel: 'email', enabled: true, transactional: true });

    expect((await w.call('POST', `/v1/orders/${order.id}/fulfil`, w.staff)).status).toBe(200);
    await waitFor(async () => (await w.call('GET', '/v1/notifications', w.ann)).body.data.find((n: any) => n.template === 'order.shipped'), 'the in-app shipping notice');
    // Bob did not opt out: his shipping notice is mailed.
    const bobOrder = (await w.call('POST', '/v1/orders', w.bob, { items: [{ sku: 'MUG', quantity: 1 }] })).body;
    await w.call('POST', `/v1/orders/${bobOrder.id}/payments`, w.bob);
    await waitFor(async () => (await w.call('GET', `/v1/orders/${bobOrder.id}`, w.staff)).body.status === 'paid', 'bob paid', 20_000);
    expect((await w.call('POST', `/v1/orders/${bobOrder.id}/fulfil`, w.staff)).status).toBe(200);
    await waitFor(() => smtp.messages.find((m) => m.subject === `Order ${bobOrder.id} is on its way`), 'bob shipping mail', 20_000);
    expect(smtp.messages.filter((m) => m.subject === `Order ${order.id} is on its way`)).toEqual([]);
    // Each event made its messages once.
    expect(smtp.messages.filter((m) => m.subject === `Your receipt for order ${order.id}`)).toHaveLength(1);
    await fake.idle();
  }, 90_000);

  it('staff edit templates (versioned, audited); the next message uses the new text; delivery tracking is staff-only', async () => {
    const w = await commerceWorld(h, dialect);
    problem(await w.call('GET', '/v1/notification-templates', w.ann), 403, 'auth.forbidden');
    problem(await w.call('GET', '/v1/notification-templates', null), 401, 'auth.unauthenticated');
    const list = await w.call('GET', '/v1/notification-templates', w.staff);
    expect(list.body.data).toContainEqual(expect.objectContaining({ key: 'identity.verify_email', channel: 'email', version: 0, transactional: true, variables: ['greeting', 'link', 'lifetime'] }));

    const path = '/v1/notification-templates/identity.verify_email/email';
    problem(await w.call('PUT', path, w.staff, { subject: 'Hi', body: 'Open {{link}} {{password}}' }), 422, 'notifications.unknown_variable');
    problem(await w.call('PUT', path, w.staff, { subject: 'Hi' }), 422, 'validation.failed');
    problem(await w.call('PUT', '/v1/notification-templates/nope.nope/email', w.staff, { subject: 'x', body: 'y' }), 404, 'notifications.unknown_template');
    problem(await w.call('PUT', path, w.ann, { subject: 'x', body: 'y' }), 403, 'auth.forbidden');
    const saved = await w.call('PUT', path, w.staff, { subject: 'Welcome! Confirm your address', body: '{{greeting}}\nConfirm here: {{link}}\n', baseVersion: 0 });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({ version: 1, subject: 'Welcome! Confirm your address' });
    problem(await w.call('PUT', path, w.staff, { subject: 'late', body: 'late {{link}}', baseVersion: 0 }), 409, 'notifications.invalid_state');
    const versions = await w.call('GET', path, w.staff);
    expect(versions.body.data.map((t: any) => t.version)).toEqual([1, 0]);
    const audit = await w.call('GET', '/v1/audit?action=notifications.template.updated', w.admin);
    expect(audit.body.data.length).toBe(1);

    const newcomer = await signUp(w.app, 'newcomer@example.com');
    const mail = w.app.mail.last('newcomer@example.com')!;
    expect(mail.subject).toBe('Welcome! Confirm your address');
    expect(mail.text).toMatch(/^Hello,\nConfirm here: http:\/\/127\.0\.0\.1:8080\/verify-email\?token=plv_/);

    const tracking = await w.call('GET', `/v1/notification-deliveries?userId=${newcomer.user.id}`, w.staff);
    expect(tracking.body.data).toMatchObject([{ template: 'identity.verify_email', templateVersion: 1, status: 'sent', channel: 'email', recipient: 'newcomer@example.com' }]);
    problem(await w.call('GET', '/v1/notification-deliveries', w.ann), 403, 'auth.forbidden');
    problem(await w.call('GET', '/v1/notification-deliveries?status=lost', w.staff), 422, 'validation.failed');
    const bounced = await w.call('POST', `/v1/notification-deliveries/${tracking.body.data[0].id}/outcome`, w.staff, { status: 'bounced', reason: 'mailbox full' });
    expect(bounced.body).toMatchObject({ status: 'bounced', error: 'mailbox full' });
    problem(await w.call('POST', '/v1/notification-deliveries/nope/outcome', w.staff, { status: 'delivered' }), 404, 'notifications.not_found');
  }, 60_000);
});

describe('notifications when providers misbehave (sqlite)', () => {
  const h = useHarness();

  it('an SMTP server that hangs: requests stay fast, the breaker opens, mail goes out once the server answers again', async () => {
    const smtp = await startSmtp('hang');
    h.defer(() => smtp.close());
    const app = await startApp(h, 'sqlite', {
      mailTransport: createSmtpMailTransport(smtp.url, 'Shop <shop@example.com>', { timeoutMs: 300 }),
      outbound: { timeoutMs: 300, failureThreshold: 2, openMs: 1000 },
      notifications: { inlineWaitMs: 200, retryBaseMs: 200 },
      jobs: fastJobs,
    });
    const emails = Array.from({ length: 6 }, (_, i) => `hang-${i}@example.com`);
    const took: number[] = [];
    for (const email of emails) {
      const started = performance.now();
      await signUp(app, email);
      took.push(performance.now() - started);
    }
    // No request waited for the stuck server beyond the inline wait (hashing included).
    expect(Math.max(...took)).toBeLessThan(1500);
    const notifications = app.plinth.service<NotificationsService>('notifications');
    await notifications.settled();
    const destination = `mail:smtp:${new URL(smtp.url).host}`;
    expect(await app.plinth.metrics.metrics()).toContain(`plinth_circuit_state{destination="${destination}"} 2`);
    // The open breaker stopped the calls: only those made before it tripped reached the server
    // (two failures, plus at most one that started while the second was still timing out).
    const reached = smtp.connections;
    expect(reached).toBeGreaterThanOrEqual(2);
    expect(reached).toBeLessThanOrEqual(3);
    expect(smtp.messages).toEqual([]);
    const queued = await deliveries(app.plinth);
    expect(queued.map((d) => d.status)).toEqual(emails.map(() => 'queued'));
    expect(queued.filter((d) => /did not answer within 300 ms/.test(d.error ?? ''))).toHaveLength(reached);
    expect(queued.filter((d) => /circuit .* is open/.test(d.error ?? ''))).toHaveLength(emails.length - reached);

    smtp.mode = 'ok';
    await worker(h, app.plinth);
    await waitFor(() => emails.every((e) => smtp.messages.some((m) => m.to.includes(e))), 'every verification mail', 30_000);
    await waitFor(async () => (await deliveries(app.plinth)).every((d) => d.status === 'sent'), 'every delivery sent');
    for (const e of emails) expect(smtp.messages.filter((m) => m.to.includes(e))).toHaveLength(1);
    expect(await app.plinth.metrics.metrics()).toContain(`plinth_circuit_state{destination="${destination}"} 0`);
  }, 60_000);

  it('SMS through an HTTP provider: a failed send is retried through the queue; one that keeps failing ends failed', async () => {
    const received: { auth: string | undefined; body: any }[] = [];
    let failFor = 1;
    const provider = createServer(async (req: IncomingMessage, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      received.push({ auth: req.headers.authorization, body: JSON.parse(text) });
      if (failFor-- > 0 || JSON.parse(text).to === '+15550000999') {
        res.writeHead(500).end('provider down');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `sms-${received.length}` }));
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    h.defer(() => new Promise<void>((resolve) => provider.close(() => resolve())));
    const smsUrl = `http://127.0.0.1:${(provider.address() as { port: number }).port}/send`;
    const notifications = createNotificationsModule({ smsProvider: createHttpSmsProvider({ url: smsUrl, token: 'sms-api-token', from: 'Shop' }) });
    const app = await startApp(h, 'sqlite', {
      builtins: builtinModules.map((m) => (m.name === 'notifications' ? notifications : m)),
      notifications: { retryBaseMs: 30, maxAttempts: 3 },
      outbound: { failureThreshold: 100 },
      jobs: fastJobs,
    });
    const service = app.plinth.service<NotificationsService>('notifications');
    const [ok] = await service.notify({ template: 'order.shipped', phone: '+15550000123', channels: ['sms'], variables: { orderId: 'o-1' } });
    const [bad] = await service.notify({ template: 'order.shipped', phone: '+15550000999', channels: ['sms'], variables: { orderId: 'o-2' } });
    await expect(service.notify({ template: 'order.shipped', channels: ['sms'] })).rejects.toMatchObject({ code: 'notifications.no_recipient' });
    await worker(h, app.plinth);
    await waitFor(async () => {
      const rows = await deliveries(app.plinth);
      return rows.every((r) => r.status === 'sent' || r.status === 'failed');
    }, 'both deliveries settled', 20_000);
    const rows = await deliveries(app.plinth);
    expect(rows.find((r) => r.id === ok!.id)).toMatchObject({ status: 'sent', provider: 'http', attempts: 2, error: null });
    expect(rows.find((r) => r.id === ok!.id)!.provider_message_id).toMatch(/^sms-\d+$/);
    expect(rows.find((r) => r.id === bad!.id)).toMatchObject({ status: 'failed', attempts: 3 });
    expect(rows.find((r) => r.id === bad!.id)!.error).toContain('SMS provider answered 500');
    expect(received.find((r) => r.body.to === '+15550000123')).toMatchObject({ auth: 'Bearer sms-api-token', body: { from: 'Shop', to: '+15550000123', text: 'Order o-1 has shipped.' } });
    expect(received.filter((r) => r.body.to === '+15550000999')).toHaveLength(3);
    expect(app.logs.join('')).not.toContain('sms-api-token');
  }, 60_000);
});
