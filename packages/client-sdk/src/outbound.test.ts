import { type AccessService, createMemoryMailTransport, type NotificationsService } from '@plinth/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, isPlinthApiError } from './index.js';
import { startTestApp, type TestApp } from './test-app.js';

describe('the notifications and webhooks routes through the client', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ webhooks: { allowPrivate: true }, mailTransport: createMemoryMailTransport() });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('an admin registers a webhook endpoint, lists it and its deliveries; a customer cannot', async () => {
    const admin = createClient({ baseUrl: app.url });
    const signed = await admin.signUp({ body: { email: 'admin@example.com', password: 'correct horse battery' } });
    await app.plinth.service<AccessService>('access').setRoles(signed.user.id, ['admin'], { actor: { kind: 'system', name: 'test' } });
    await admin.refresh({ body: { refreshToken: signed.refreshToken } });

    const endpoint = await admin.createWebhookEndpoint({ body: { url: 'http://127.0.0.1:9/hooks', events: ['order.paid'] } });
    expect(endpoint.secret).toMatch(/^whsec_/);
    expect((await admin.listWebhookEndpoints()).data.map((e) => e.id)).toEqual([endpoint.id]);
    expect((await admin.listWebhookDeliveries({ params: { id: endpoint.id } })).data).toEqual([]);
    const disabled = await admin.updateWebhookEndpoint({ params: { id: endpoint.id }, body: { enabled: false } });
    expect(disabled).toMatchObject({ enabled: false, disabledReason: 'disabled by an admin' });

    const customer = createClient({ baseUrl: app.url });
    await customer.signUp({ body: { email: 'someone@example.com', password: 'correct horse battery' } });
    const refused = await customer.listWebhookEndpoints().catch((e: unknown) => e);
    expect(isPlinthApiError(refused) && refused.status).toBe(403);
  });

  it('a customer reads in-app notifications, marks one read and sets preferences', async () => {
    const customer = createClient({ baseUrl: app.url });
    const signed = await customer.signUp({ body: { email: 'reader@example.com', password: 'correct horse battery' } });
    await app.plinth.service<NotificationsService>('notifications').notify({ template: 'order.shipped', userId: signed.user.id, channels: ['in_app'], variables: { orderId: 'o-9' } });
    const [note] = (await customer.listNotifications()).data;
    expect(note).toMatchObject({ title: 'Order shipped', body: 'Order o-9 is on its way.', read: false });
    expect(await customer.markNotificationRead({ params: { id: note!.id } })).toMatchObject({ read: true });
    const prefs = await customer.updateNotificationPreferences({ body: { preferences: [{ category: 'marketing', channel: 'email', enabled: true }] } });
    expect(prefs.data).toContainEqual({ category: 'marketing', channel: 'email', enabled: true, transactional: false });
    expect((await customer.getNotificationPreferences()).data).toContainEqual({ category: 'account', channel: 'email', enabled: true, transactional: true });
  });
});
