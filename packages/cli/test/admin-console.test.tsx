/**
 * The admin console's screens, rendered with ink-testing-library against a
 * real server holding the demo shop: what each screen shows is what the API
 * answers, actions change the server's state, a staff member cannot reach
 * admin-only actions, and an expired session leads to the sign-in prompt.
 * Webhooks: an endpoint pointing at a receiver on this machine gets real order
 * events; a replay through the screen makes a new attempt the API shows.
 * Reports: the figures the reports API answers, at 80×24.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import { AdminApp, colorsEnabled, globalBindings, listBindings, ordersScreen, reportsScreen, runAdmin, usersScreen, VirtualList, webhooksScreen } from '@plinth/admin-tui';
import type { PlinthClient } from '@plinth/client';
import { createClient, memoryTokenStore } from '@plinth/client';
import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { enter, fill, frameWith, type Shop, startShop, tick, type } from './admin-support.js';

const money = (m: { amount: number; currency: string }) => `${(m.amount / 100).toFixed(2)} ${m.currency}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** Every line of a frame fits 80×24. */
const fits80x24 = (frame: string) => frame.split('\n').length <= 24 && Math.max(...frame.split('\n').map((l) => [...l].length)) <= 80;

describe('admin console screens against a seeded server', () => {
  let shop: Shop;
  let admin: PlinthClient;
  let staff: PlinthClient;
  const views: { unmount(): void }[] = [];
  const show = (node: Parameters<typeof render>[0]) => {
    const view = render(node);
    views.push(view);
    return view;
  };
  beforeAll(async () => {
    shop = await startShop();
    admin = await shop.signIn(shop.seed.accounts.admin);
    staff = await shop.signIn(shop.seed.accounts.staff);
  }, 180_000);
  afterEach(() => {
    for (const view of views.splice(0)) view.unmount();
  });
  afterAll(async () => {
    await shop?.stop();
  });

  it('Dashboard: readiness, orders and revenue today, queue and outbox figures as the API reports them', async () => {
    const { lastFrame } = show(<AdminApp client={admin} color={false} refreshMs={0} />);
    const frame = await frameWith(lastFrame, 'Orders today');
    const summary = await admin.ordersSummary();
    expect(frame).toContain('healthy');
    expect(frame).toMatch(/Readiness\s+ready/);
    expect(frame).toMatch(new RegExp(`Orders today\\s+${summary.orders}\\b`));
    expect(frame).toMatch(new RegExp(`Paid today\\s+${summary.paidOrders}\\b`));
    for (const m of summary.revenue) expect(frame).toContain(money(m));
    expect(summary.orders).toBeGreaterThan(0);
    expect(frame).toMatch(/Jobs dead\s+1\b/);
    expect(frame).toMatch(/Outbox lag\s+\d/);
    expect(frame).toMatch(/Requests\/s\s+measuring…/);
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
  });

  it('Users: the rows are the API page; / searches; enter shows roles, sessions, MFA and recent audit', async () => {
    const view = show(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="users" />);
    const { lastFrame, stdin } = view;
    const page = await admin.adminListUsers({ query: { limit: 100 } });
    const first = await frameWith(lastFrame, page.data[1]!.email);
    // Every row that fits on the screen, in the API's order.
    const shown = page.data.map((u) => u.email).filter((email) => first.includes(email));
    expect(shown.length).toBeGreaterThanOrEqual(Math.min(page.data.length, 12));
    const positions = shown.map((email) => first.indexOf(email));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    const customer = shop.seed.accounts.customers[2]!;
    const term = customer.split('@')[0]!;
    await fill(view, '/', 'Search users:', term);
    const found = await admin.adminListUsers({ query: { q: term } });
    const searched = await frameWith(lastFrame, (f) => f.includes(`Users matching "${term}"`) && f.split('\n').slice(1).join('\n').includes(customer));
    expect(found.data.map((u) => u.email)).toContain(customer);
    for (const u of found.data) expect(searched).toContain(u.email);
    expect(searched.split('\n').slice(1).join('\n')).not.toContain(shop.seed.accounts.admin);

    await type(stdin, '\r');
    const user = found.data.find((u) => u.email === customer)!;
    const sessions = await admin.adminListUserSessions({ params: { id: user.id } });
    const detail = await frameWith(lastFrame, 'Recent audit');
    expect(detail).toContain(`Status: ${user.status}`);
    expect(detail).toContain(`Roles: ${user.roles.join(', ') || 'none'}`);
    expect(detail).toContain(`MFA: ${user.mfaEnabled ? 'on' : 'off'}`);
    expect(detail).toContain(`Sessions (${sessions.data.length})`);
    const audit = await admin.listAudit({ query: { targetId: user.id, limit: 8 } });
    expect(audit.data.length).toBeGreaterThan(0);
    for (const e of audit.data.slice(0, 3)) expect(detail).toContain(e.action);
  });

  it('Users: an admin disables and enables a user (with a confirmation); the API agrees each time', async () => {
    const view = show(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="users" />);
    const { lastFrame, stdin } = view;
    const email = shop.seed.accounts.customers[3]!;
    await frameWith(lastFrame, shop.seed.accounts.staff);
    await fill(view, '/', 'Search users:', email);
    await frameWith(lastFrame, (f) => f.includes(`Users matching "${email}"`) && f.includes(`> ${email}`));
    await type(stdin, 'd');
    await frameWith(lastFrame, `Disable ${email}?`);
    await type(stdin, 'n');
    await frameWith(lastFrame, 'Nothing changed');
    const id = (await admin.adminListUsers({ query: { q: email } })).data[0]!.id;
    expect((await admin.adminGetUser({ params: { id } })).status).toBe('active');

    await type(stdin, 'd', 'y');
    await frameWith(lastFrame, `${email} is disabled`);
    expect((await admin.adminGetUser({ params: { id } })).status).toBe('disabled');
    await frameWith(lastFrame, (f) => /disabled/.test(f.split('\n').find((l) => l.includes(`> ${email}`)) ?? ''));

    await type(stdin, 'd', 'y');
    await frameWith(lastFrame, `${email} is active`);
    expect((await admin.adminGetUser({ params: { id } })).status).toBe('active');
  });

  it('Orders: rows match the API, s filters by state, enter shows items, payments and history, and a partial refund is confirmed first', async () => {
    const view = show(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="orders" />);
    const { lastFrame, stdin } = view;
    const all = await admin.listOrders({ query: { limit: 100 } });
    const frame = await frameWith(lastFrame, all.data[0]!.id);
    for (const o of all.data.slice(0, 10)) expect(frame).toContain(o.id);

    await type(stdin, 's', 's');
    const paid = await admin.listOrders({ query: { status: 'paid', limit: 100 } });
    await frameWith(lastFrame, 'Orders: paid');
    const filtered = await frameWith(lastFrame, paid.data[0]!.id);
    for (const o of paid.data.slice(0, 10)) expect(filtered).toContain(o.id);
    expect(filtered).not.toMatch(/pending_payment|cancelled|refunded/);

    const order = paid.data[0]!;
    await type(stdin, '\r');
    const detail = await frameWith(lastFrame, 'History');
    for (const item of order.items) expect(detail).toContain(item.sku);
    const payments = await admin.listPayments({ params: { id: order.id } });
    expect(detail).toContain(payments.data[0]!.id);
    expect(detail).toContain('succeeded');
    expect(detail).toMatch(/placed[\s\S]*paid/);

    await fill(view, '$', `Refund how much of ${money(order.total)}?`, '1.25');
    await frameWith(lastFrame, `Refund 1.25 ${order.total.currency} on order ${order.id}?`);
    expect((await admin.getOrder({ params: { id: order.id } })).refunded.amount).toBe(0);
    await type(stdin, 'y');
    await frameWith(lastFrame, `Refunded 1.25 ${order.total.currency} on ${order.id}: order is partially_refunded`);
    const after = await admin.getOrder({ params: { id: order.id } });
    expect(after).toMatchObject({ status: 'partially_refunded', refunded: { amount: 125 } });
    await frameWith(lastFrame, `refunded 1.25 ${order.total.currency}`);

    // An amount above what is left is refused on the console, before any request.
    await fill(view, '$', 'Refund how much', '999999');
    await frameWith(lastFrame, 'Not a refundable amount');
    expect((await admin.getOrder({ params: { id: order.id } })).refunded.amount).toBe(125);
  });

  it('Catalog: products match the API; a product shows stock and reservations; a adjusts stock with a reason', async () => {
    const view = show(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="catalog" />);
    const { lastFrame, stdin } = view;
    const products = await admin.listProducts({ query: { limit: 100 } });
    const frame = await frameWith(lastFrame, products.data[0]!.name);
    for (const p of products.data.slice(0, 8)) expect(frame).toContain(p.name);

    await type(stdin, '\r');
    const product = products.data[0]!;
    const sku = product.skus[0]!.sku;
    const before = await admin.getStock({ params: { sku } });
    const detail = await frameWith(lastFrame, 'Recent adjustments');
    expect(detail).toMatch(new RegExp(`${sku}\\s+\\S+ \\w{3}\\s+${before.onHand}\\s+${before.reserved}\\s+${before.available}`));

    await fill(view, 'a', `Adjust ${sku}`, '+5 receipt pallet 7');
    await frameWith(lastFrame, `${sku}: +5 (receipt)`);
    expect(await admin.getStock({ params: { sku } })).toMatchObject({ onHand: before.onHand + 5, reserved: before.reserved });
    await frameWith(lastFrame, 'receipt pallet 7');

    await fill(view, 'a', `Adjust ${sku}`, '+5 because');
    await frameWith(lastFrame, 'Reason must be one of');
    expect((await admin.getStock({ params: { sku } })).onHand).toBe(before.onHand + 5);
  });

  it('Jobs: s reaches the dead jobs; y retries the dead job and the API shows it ran', async () => {
    const { lastFrame, stdin } = show(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="jobs" />);
    await frameWith(lastFrame, 'Jobs: all'); // the newest jobs first: subscriber jobs of the seeded orders
    await type(stdin, 's', 's', 's', 's', 's');
    await frameWith(lastFrame, 'Jobs: dead');
    const frame = await frameWith(lastFrame, (f) => f.includes('Jobs: dead') && f.includes('hooks.deliver'));
    const dead = await admin.listJobs({ query: { state: 'dead' } });
    expect(dead.data.map((j) => j.id)).toEqual([shop.deadJobId]);
    expect(frame).toMatch(/hooks\.deliver\s+default\s+dead\s+1\/1/);
    expect(frame).toContain(' 1/1');

    await type(stdin, '\r');
    await frameWith(lastFrame, 'Last error: receiver answered 503');
    shop.heal();
    await type(stdin, 'y');
    await frameWith(lastFrame, `Retry hooks.deliver ${shop.deadJobId} now?`);
    await type(stdin, 'y');
    await frameWith(lastFrame, `Job ${shop.deadJobId} is`);
    await vi.waitFor(async () => expect((await admin.getJob({ params: { id: shop.deadJobId } })).state).toBe('completed'), { timeout: 15_000, interval: 100 });
  });

  it('Audit: rows are the API page; v verifies the chain and shows the result', async () => {
    const view = show(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="audit" />);
    const { lastFrame, stdin } = view;
    const page = await admin.listAudit({ query: { limit: 200 } });
    const frame = await frameWith(lastFrame, page.data[0]!.action);
    for (const e of page.data.slice(0, 8)) expect(frame).toMatch(new RegExp(`\\b${e.seq}\\s+\\S+ \\S+\\s+${e.action.replace(/\./g, '\\.')}`));

    await type(stdin, 'v');
    const verified = await frameWith(lastFrame, 'Audit chain intact');
    const api = await admin.verifyAudit();
    expect(api.ok).toBe(true);
    const shown = Number(/Audit chain intact: (\d+) events/.exec(verified)![1]);
    expect(shown).toBeLessThanOrEqual(api.events);
    expect(shown).toBeGreaterThan(0);

    await fill(view, '/', 'Action (exact', 'access.user.created');
    await frameWith(lastFrame, 'action=access.user.created');
    const created = await admin.listAudit({ query: { action: 'access.user.created', limit: 200 } });
    await frameWith(lastFrame, (f) => f.split('\n').filter((l) => l.includes('access.user.created')).length >= Math.min(created.data.length, 10));
    expect(lastFrame()).not.toMatch(/auth\.signed_in/);
  });

  it('a staff member cannot reach admin-only actions: the console refuses and the server would too', async () => {
    const view = show(<AdminApp client={staff} color={false} refreshMs={0} initialScreen="users" />);
    const { lastFrame, stdin } = view;
    const email = shop.seed.accounts.customers[4]!;
    await frameWith(lastFrame, shop.seed.accounts.customers[0]!);
    await fill(view, '/', 'Search users:', email);
    await frameWith(lastFrame, (f) => f.includes(`Users matching "${email}"`) && f.includes(`> ${email}`));
    await type(stdin, 'd');
    await frameWith(lastFrame, 'Not allowed: changing users needs the users:write permission');
    expect(lastFrame()).not.toContain('Disable');
    await type(stdin, 'x');
    await frameWith(lastFrame, 'Not allowed');
    const id = (await admin.adminListUsers({ query: { q: email } })).data[0]!.id;
    expect((await admin.adminGetUser({ params: { id } })).status).toBe('active');
    await expect(staff.adminUpdateUser({ params: { id }, body: { status: 'disabled' } })).rejects.toMatchObject({ status: 403, code: 'auth.forbidden' });

    await type(stdin, '6');
    await frameWith(lastFrame, 'Jobs: all');
    await type(stdin, 'y');
    await frameWith(lastFrame, 'Not allowed: retrying and cancelling jobs needs the jobs:write permission');

    // The audit log is for admins: the server's refusal is one readable line, not a crash.
    await type(stdin, '8');
    const audit = await frameWith(lastFrame, (f) => f.includes('[8 Audit]') && f.includes('[auth.forbidden]'));
    expect(audit).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('an expired session leads to the sign-in prompt; signing in again brings the screen back', async () => {
    const client = await shop.signIn(shop.seed.accounts.admin);
    const { lastFrame, stdin } = show(<AdminApp client={client} color={false} refreshMs={0} initialScreen="users" email={shop.seed.accounts.admin} />);
    await frameWith(lastFrame, shop.seed.accounts.customers[0]!);
    const me = await client.getMe();
    await admin.adminRevokeSessions({ params: { id: me.id } });
    // Access tokens live on until they expire: make this one unusable as an expired one would be.
    const stored = (await client.session.get())!;
    await client.session.set({ ...stored, accessToken: `${stored.accessToken.slice(0, -4)}AAAA` });
    await type(stdin, 'r');
    const prompt = await frameWith(lastFrame, (f) => f.includes('Your session has expired') && f.includes(`Password for ${shop.seed.accounts.admin}:`));
    expect(prompt).not.toMatch(/\bat .+:\d+:\d+/);
    await enter(stdin, shop.password);
    await frameWith(lastFrame, (f) => f.includes(shop.seed.accounts.customers[0]!) && !f.includes('Password for'));
    // Keep the shared admin signed in for later tests.
    admin = await shop.signIn(shop.seed.accounts.admin);
  });

  it('with no session, the sign-in prompt asks for email and password, and a wrong password is one readable line', async () => {
    const client = createClient({ baseUrl: shop.url, tokens: memoryTokenStore() });
    const { lastFrame, stdin } = show(<AdminApp client={client} color={false} refreshMs={0} />);
    await frameWith(lastFrame, 'Email:');
    await tick();
    await enter(stdin, shop.seed.accounts.staff);
    await frameWith(lastFrame, 'Password for');
    await enter(stdin, 'wrong password');
    await frameWith(lastFrame, '[auth.invalid_credentials]');
    await enter(stdin, shop.password);
    await frameWith(lastFrame, 'Orders today');
    expect(lastFrame()).toContain(`${shop.seed.accounts.staff} (staff)`);
  });

  it('? lists every key of the current screen from the binding tables; esc closes it', async () => {
    const { lastFrame, stdin } = show(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="orders" />);
    await frameWith(lastFrame, 'EUR');
    await type(stdin, '?');
    const help = await frameWith(lastFrame, 'Keys on Orders');
    for (const b of [...ordersScreen.bindings, ...listBindings, ...globalBindings]) expect(help).toContain(b.label.slice(0, 12));
    await type(stdin, '\u001b');
    await frameWith(lastFrame, (f) => !f.includes('Keys on Orders'));
    await type(stdin, '2', '?');
    const users = await frameWith(lastFrame, 'Keys on Users');
    for (const b of usersScreen.bindings) expect(users).toContain(b.label.slice(0, 12));
  });

  it('adapts when the terminal resizes: nothing drawn wider than the terminal', async () => {
    const { lastFrame, stdout } = show(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="orders" />);
    await frameWith(lastFrame, 'EUR');
    const wide = lastFrame()!;
    expect(Math.max(...wide.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(100);
    Object.defineProperty(stdout, 'columns', { value: 60, configurable: true });
    stdout.emit('resize');
    const narrow = await frameWith(lastFrame, (f) => Math.max(...f.split('\n').map((l) => [...l].length)) <= 60 && f.includes('EUR'));
    expect(narrow).toContain('Order');
    expect(narrow).toMatch(/ 1\/\d+/);
  });

  it('a server that cannot be reached is a readable line', async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:9', tokens: memoryTokenStore({ accessToken: 'x', refreshToken: 'y', expiresAt: Date.now() + 60_000 }), timeoutMs: 3000 });
    const { lastFrame } = show(<AdminApp client={client} color={false} refreshMs={0} />);
    const frame = await frameWith(lastFrame, 'Could not reach');
    expect(frame).not.toMatch(/\bat .+:\d+:\d+/);
    expect(frame).not.toContain('PlinthApiError');
  });

  describe('Webhooks and Reports', () => {
    let receiver: Server;
    let healthy = false;
    let url: string;
    let endpointId: string;
    /** Renders the console at 80×24, as a small terminal would. */
    const show80 = (node: Parameters<typeof render>[0]) => {
      const view = show(node);
      Object.defineProperty(view.stdout, 'columns', { value: 80, configurable: true });
      view.stdout.emit('resize');
      return view;
    };

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        req.resume();
        res.writeHead(healthy ? 200 : 500).end(healthy ? 'ok' : 'down');
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;

      // One order while the receiver fails (two attempts, then failed), one once it answers.
      endpointId = (await admin.createWebhookEndpoint({ body: { url, events: ['order.created'], description: 'console test' } })).id;
      const customer = await shop.signIn(shop.seed.accounts.customers[0]!);
      const sku = (await admin.listProducts({ query: { limit: 5 } })).data.flatMap((p) => p.skus).find((s) => s.available > 2)!.sku;
      const settled = async (n: number) =>
        vi.waitFor(
          async () => {
            const page = await admin.listWebhookDeliveries({ params: { id: endpointId } });
            expect(page.data.filter((d) => d.status !== 'pending')).toHaveLength(n);
          },
          { timeout: 15_000, interval: 50 },
        );
      await customer.createOrder({ body: { items: [{ sku, quantity: 1 }] } });
      await settled(1);
      healthy = true;
      await customer.createOrder({ body: { items: [{ sku, quantity: 1 }] } });
      await settled(2);
    }, 60_000);
    afterAll(async () => {
      await new Promise((resolve) => receiver?.close(resolve));
    });

    it('Webhooks: endpoint and delivery rows are the API answers; p replays a failed delivery after a confirmation and the API shows the new attempt', async () => {
      const { lastFrame, stdin } = show80(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="webhooks" />);
      const endpoint = await admin.getWebhookEndpoint({ params: { id: endpointId } });
      const list = await frameWith(lastFrame, (f) => f.includes(url) && fits80x24(f));
      expect(list).toContain('[7 Webhooks]');
      expect(list).toMatch(new RegExp(`> ${escape(url)}\\s+order\\.created\\s+enabled\\s+${endpoint.consecutiveFailures}\\b`));
      expect(list).toContain('Events: order.created · console test');

      await type(stdin, '\r');
      const deliveries = (await admin.listWebhookDeliveries({ params: { id: endpointId } })).data;
      expect(deliveries.map((d) => [d.status, d.lastStatusCode, d.attempts])).toEqual([
        ['succeeded', 200, 1],
        ['failed', 500, 2],
      ]);
      const table = await frameWith(lastFrame, (f) => f.includes('Last attempt') && f.includes('failed'));
      for (const d of deliveries) {
        const state = d.status === 'succeeded' ? 'delivered' : d.status;
        expect(table).toMatch(new RegExp(`order\\.created\\s+${state}\\s+${d.lastStatusCode}\\s+${d.attempts}\\s`));
      }
      // The latency is not in the list: the line below shows the selected delivery's last attempt.
      const newest = await admin.getWebhookDelivery({ params: { id: endpointId, deliveryId: deliveries[0]!.id } });
      expect(table).toContain(`Last attempt ${newest.attemptLog[0]!.createdAt.slice(0, 16).replace('T', ' ')}: HTTP 200 in ${newest.attemptLog[0]!.latencyMs} ms`);
      expect(fits80x24(table)).toBe(true);

      const failed = deliveries[1]!;
      await type(stdin, 'j');
      await frameWith(lastFrame, (f) => /> order\.created\s+failed/.test(f) && f.includes('receiver answered 500'));
      await type(stdin, 'p');
      await frameWith(lastFrame, `Replay delivery ${failed.id} (order.created) now?`);
      await type(stdin, 'n');
      await frameWith(lastFrame, 'Nothing changed');
      expect((await admin.getWebhookDelivery({ params: { id: endpointId, deliveryId: failed.id } })).attemptLog).toHaveLength(2);

      await type(stdin, 'p', 'y');
      const done = await frameWith(lastFrame, `Replayed ${failed.id}: delivered, HTTP 200 in`);
      const after = await admin.getWebhookDelivery({ params: { id: endpointId, deliveryId: failed.id } });
      expect(after.status).toBe('succeeded');
      expect(after.attemptLog.map((a) => a.statusCode)).toEqual(expect.arrayContaining([500, 500, 200]));
      expect(after.attemptLog).toHaveLength(3);
      const latest = [...after.attemptLog].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1)!;
      expect(done).toContain(`HTTP 200 in ${latest.latencyMs} ms`);
      // The list follows: the replayed delivery is delivered now.
      await frameWith(lastFrame, (f) => /> order\.created\s+delivered\s+200\s+1\s/.test(f));

      // enter shows every attempt with its status and latency.
      await type(stdin, '\r');
      const detail = await frameWith(lastFrame, 'Attempts (3)');
      for (const a of after.attemptLog) expect(detail).toMatch(new RegExp(`#${a.attempt} \\S+ \\S+\\s+${a.statusCode}\\s+${a.latencyMs} ms`));

      // e disables the endpoint (confirmed), the API agrees; e again enables it.
      await type(stdin, '\u001b', '\u001b');
      await frameWith(lastFrame, 'Webhook endpoints');
      await type(stdin, 'e');
      await frameWith(lastFrame, `Disable ${url}?`);
      await type(stdin, 'y');
      await frameWith(lastFrame, `${url} is disabled`);
      expect(await admin.getWebhookEndpoint({ params: { id: endpointId } })).toMatchObject({ enabled: false, disabledReason: 'disabled by an admin' });
      await frameWith(lastFrame, (f) => new RegExp(`> ${escape(url)}\\s+order\\.created\\s+disabled`).test(f) && f.includes('Disabled '));
      await type(stdin, 'e', 'y');
      await frameWith(lastFrame, `${url} is enabled`);
      expect((await admin.getWebhookEndpoint({ params: { id: endpointId } })).enabled).toBe(true);
    });

    it('Webhooks: staff may look but not change (a readable line; the server refuses too); ? lists the keys', async () => {
      const { lastFrame, stdin } = show80(<AdminApp client={staff} color={false} refreshMs={0} initialScreen="webhooks" />);
      await frameWith(lastFrame, url);
      await type(stdin, 'e');
      const refused = await frameWith(lastFrame, 'Not allowed: changing endpoints needs the webhooks:write permission');
      expect(refused).not.toContain('Disable');
      await type(stdin, '\r');
      await frameWith(lastFrame, 'Last attempt');
      await type(stdin, 'p');
      await frameWith(lastFrame, 'Not allowed: replaying deliveries needs the webhooks:write permission');
      const delivery = (await staff.listWebhookDeliveries({ params: { id: endpointId } })).data[0]!;
      await expect(staff.replayWebhookDelivery({ params: { id: endpointId, deliveryId: delivery.id } })).rejects.toMatchObject({ status: 403, code: 'auth.forbidden' });

      await type(stdin, '?');
      const help = await frameWith(lastFrame, 'Keys on Webhooks');
      for (const b of webhooksScreen.bindings) expect(help).toContain(b.label.slice(0, 12));

      // Someone without webhooks:read gets the server's refusal as one line, not a crash.
      const customer = await shop.signIn(shop.seed.accounts.customers[1]!);
      const other = show80(<AdminApp client={customer} color={false} refreshMs={0} initialScreen="webhooks" />);
      const line = await frameWith(other.lastFrame, '[auth.forbidden]');
      expect(line).not.toMatch(/\bat .+:\d+:\d+/);
    });

    it('Reports: the totals, charts and top products are what the reports API answers; t, b and c change the range, buckets and currency', async () => {
      // The orders placed above reach the rollups through the outbox: wait until they are in.
      await vi.waitFor(async () => expect((await admin.getReportsFreshness()).lagSeconds).toBe(0), { timeout: 10_000, interval: 100 });
      const { lastFrame, stdin } = show80(<AdminApp client={admin} color={false} refreshMs={0} initialScreen="reports" />);
      const frame = await frameWith(lastFrame, (f) => f.includes('Top products by units') && fits80x24(f));
      expect(frame).toContain('[5 Reports]');
      const freshness = await admin.getReportsFreshness();
      const to = new Date().toISOString().slice(0, 10);
      const from = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
      expect(freshness.timezone).toBe('UTC');
      const sales = await admin.getSalesReport({ query: { from, to } });
      const orders = await admin.getOrdersReport({ query: { from, to } });
      const top = await admin.getProductsReport({ query: { from, to, limit: 5 } });
      const eur = sales.totals.find((t) => t.currency === 'EUR')!;
      expect(eur.net).toBeGreaterThan(0);
      expect(frame).toContain(`Last 30 days: ${from} → ${to} by day (UTC) · EUR`);
      expect(frame).toMatch(new RegExp(`Net revenue\\s+[▁-█]+\\s+${escape(money({ amount: eur.net, currency: 'EUR' }))} from ${eur.orders} paid orders?`));
      expect(frame).toMatch(new RegExp(`Orders placed\\s+[▁-█]+\\s+${orders.totals.created} placed`));
      expect(frame).toMatch(new RegExp(`${to} │\\S[^\\n]*${escape(money({ amount: sales.series.filter((s) => s.currency === 'EUR' && s.bucket === to).reduce((a, s) => a + s.net, 0), currency: 'EUR' }))}`));
      expect(top.data.length).toBeGreaterThan(0);
      for (const p of top.data) expect(frame).toMatch(new RegExp(`${escape(p.name!.slice(0, 20))}[^\\n]*│█*[^\\n]* ${p.units}\\b`));
      expect(frame).toMatch(freshness.lagSeconds > 0 ? /Rollups \S+( \S+)? behind/ : /Rollups up to date/);

      await type(stdin, 't');
      const ninety = new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10);
      await frameWith(lastFrame, `Last 90 days: ${ninety} → ${to} by day`);
      await type(stdin, 'b');
      const weekly = await frameWith(lastFrame, (f) => f.includes(`Last 90 days: ${ninety} → ${to} by week`) && f.includes('Top products'));
      const weeks = await admin.getOrdersReport({ query: { from: ninety, to, groupBy: 'week' } });
      expect(weekly).toContain(`${weeks.series.at(-1)!.bucket} │`);
      expect(fits80x24(weekly)).toBe(true);
      // Every sale of the demo shop is in euros: c says so instead of switching.
      await type(stdin, 'c');
      await frameWith(lastFrame, 'All sales in the range are in EUR');

      await type(stdin, '?');
      const help = await frameWith(lastFrame, 'Keys on Reports');
      for (const b of reportsScreen.bindings) expect(help).toContain(b.label.slice(0, 12));
    });
  });

});

describe('admin console pieces', () => {
  it('a list of 10 000 rows draws only the visible window, and moving through it stays fast', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => `order ${String(i).padStart(5, '0')}`);
    const view = render(<VirtualList items={items} selected={0} height={18} width={60} header="Orders" render={(s) => s} color={false} />);
    expect(view.lastFrame()!.split('\n')).toHaveLength(19);
    const started = performance.now();
    for (let selected = 0; selected < 10_000; selected += 50) {
      view.rerender(<VirtualList items={items} selected={selected} height={18} width={60} header="Orders" render={(s) => s} color={false} />);
    }
    view.rerender(<VirtualList items={items} selected={9_999} height={18} width={60} header="Orders" render={(s) => s} color={false} />);
    const perFrameMs = (performance.now() - started) / 201;
    const frame = view.lastFrame()!;
    expect(frame.split('\n')).toHaveLength(19);
    expect(frame).toContain('> order 09999');
    expect(frame).toContain('10000/10000');
    expect(frame).not.toContain('order 09980');
    // Reported, not asserted (timing is the bench's business).
    console.log(`virtual list: ${perFrameMs.toFixed(2)} ms per frame over 10 000 rows`);
    view.unmount();
  });

  it('honours NO_COLOR', () => {
    expect(colorsEnabled({ NO_COLOR: '1' })).toBe(false);
    expect(colorsEnabled({ NO_COLOR: '' })).toBe(true);
    expect(colorsEnabled({})).toBe(true);
  });

  it('quits on q: runAdmin resolves', async () => {
    const stdin = new FakeStdin();
    const stdout = new FakeStdout();
    const done = runAdmin({ baseUrl: 'http://127.0.0.1:9', stdin: stdin as never, stdout: stdout as never, color: false, refreshMs: 0 });
    await vi.waitFor(() => expect(stdin.listenerCount('readable')).toBeGreaterThan(0), { timeout: 5000, interval: 10 });
    await vi.waitFor(() => expect(stdout.output()).toContain('Email:'), { timeout: 5000, interval: 10 });
    // At the sign-in prompt q is typed into the field; Ctrl+C leaves.
    stdin.write('\u0003');
    await expect(done).resolves.toBeUndefined();
    expect(stdout.output()).toContain('Plinth admin');
  });

  it('rejects a base URL that is not http(s) before drawing anything', async () => {
    await expect(runAdmin({ baseUrl: 'ftp://example.test' })).rejects.toThrow(/http/);
  });

  it('renders a screen given as data (new screens are one more entry)', async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:9', tokens: memoryTokenStore() });
    const custom = { id: 'hello', title: 'Hello', bindings: [], Component: () => <Text>hello screen</Text> };
    const view = render(<AdminApp client={client} color={false} refreshMs={0} screens={[custom]} />);
    expect(await frameWith(view.lastFrame, 'Email:')).toContain('[1 Hello]');
    view.unmount();
  });
});

/** A TTY-like stdin, as Ink reads it (the same shape ink-testing-library uses). */
class FakeStdin extends EventEmitter {
  isTTY = true;
  #data: string | null = null;
  write(data: string) {
    this.#data = data;
    this.emit('readable');
    this.emit('data', data);
  }
  read() {
    const data = this.#data;
    this.#data = null;
    return data;
  }
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

class FakeStdout extends EventEmitter {
  columns = 100;
  rows = 24;
  isTTY = false;
  readonly writes: string[] = [];
  write(chunk: string) {
    this.writes.push(chunk);
    return true;
  }
  output() {
    return this.writes.join('');
  }
}
