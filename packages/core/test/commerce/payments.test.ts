/**
 * Payments over real HTTP: the fake provider confirms through the signed inbound
 * webhook (duplicated, out of order, declined), forged or stale webhooks change
 * nothing, refunds never exceed what was captured, and every route's rules.
 */
import { describe, expect, it } from 'vitest';
import { builtinModules, createFakeProvider, createPaymentsModule, FAKE_SIGNATURE_HEADER, type FakeProviderOptions } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { commerceWorld, problem } from './support.js';

const SECRET = 'whsec_test_0123456789abcdef';

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(dialects)('payments on %s', (dialect) => {
  const h = useHarness();

  async function shop(fakeOptions: FakeProviderOptions = {}) {
    let url = '';
    const fake = createFakeProvider({ secret: SECRET, webhookUrl: () => `${url}/v1/payments/webhooks/fake`, confirmAfterMs: 20, ...fakeOptions });
    const payments = createPaymentsModule({ providers: { fake } });
    const w = await commerceWorld(h, dialect, { builtins: builtinModules.map((m) => (m.name === 'payments' ? payments : m)) });
    url = w.app.url;
    await w.product({ name: 'Mug', skus: [{ sku: 'MUG', amount: 500, stock: 10 }] });
    const stock = async (sku: string) => (await w.call('GET', `/v1/inventory/${sku}`, w.staff)).body;
    const order = async (who = w.ann, quantity = 2) => {
      const res = await w.call('POST', '/v1/orders', who, { items: [{ sku: 'MUG', quantity }] });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { id: string; total: { amount: number; currency: string } };
    };
    const status = async (id: string) => (await w.call('GET', `/v1/orders/${id}`, w.staff)).body.status as string;
    const processed = async () => (await w.app.plinth.db.selectFrom('payment_events').select(['event_id', 'outcome']).execute()) as { event_id: string; outcome: string }[];
    const webhook = (body: string, headers: Record<string, string>, provider = 'fake') =>
      fetch(`${w.app.url}/v1/payments/webhooks/${provider}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    /** Pays an order through the fake provider and waits until it is paid. */
    const pay = async (id: string, who = w.ann) => {
      const res = await w.call('POST', `/v1/orders/${id}/payments`, who);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      await until('the order to be paid', async () => (await status(id)) === 'paid');
      await fake.idle();
      return res.body;
    };
    return { ...w, fake, stock, order, status, processed, webhook, pay };
  }

  it('end to end: POST payments → the fake provider POSTs a signed webhook → the order is paid and its stock committed', async () => {
    const w = await shop();
    const order = await w.order();
    expect(await w.stock('MUG')).toMatchObject({ onHand: 10, reserved: 2, available: 8 });
    const res = await w.call('POST', `/v1/orders/${order.id}/payments`, w.ann);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ orderId: order.id, status: 'requires_confirmation', amount: { amount: 1000, currency: 'EUR' }, provider: 'fake', refunds: [] });
    expect(res.body.providerRef).toMatch(/^pi_fake_/);

    await until('the order to be paid', async () => (await w.status(order.id)) === 'paid');
    await w.fake.idle();
    const paid = (await w.call('GET', `/v1/orders/${order.id}`, w.ann)).body;
    expect(paid).toMatchObject({ status: 'paid', paymentId: res.body.id });
    expect(await w.stock('MUG')).toMatchObject({ onHand: 8, reserved: 0, available: 8 });
    const list = await w.call('GET', `/v1/orders/${order.id}/payments`, w.ann);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ data: [{ id: res.body.id, status: 'succeeded', refunded: { amount: 0, currency: 'EUR' } }], nextCursor: null });
    expect((await w.events('payment.succeeded')).map((e) => e.payload)).toEqual([
      { id: res.body.id, orderId: order.id, provider: 'fake', amount: { amount: 1000, currency: 'EUR' }, orderPaid: true },
    ]);
    expect((await w.events('order.paid')).length).toBe(1);
    // Paying a paid order again is refused.
    problem(await w.call('POST', `/v1/orders/${order.id}/payments`, w.ann), 409, 'payments.not_payable');
    // The secret never reaches the log.
    expect(w.app.logs.join('\n')).not.toContain(SECRET);
  });

  it('an open intent is answered again rather than a second one made, even under concurrent requests', async () => {
    const w = await shop({ autoConfirm: false });
    const order = await w.order();
    const replies = await Promise.all([1, 2, 3, 4].map(() => w.call('POST', `/v1/orders/${order.id}/payments`, w.ann)));
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    const staffReply = await w.call('POST', `/v1/orders/${order.id}/payments`, w.staff); // staff may pay on the owner's behalf
    expect(staffReply.body.id).toBe(replies[0]!.body.id);
    expect((await w.call('GET', `/v1/orders/${order.id}/payments`, w.ann)).body.data.length).toBe(1);
    // Confirming later (the customer at the provider) pays the order.
    await w.fake.capture({ providerRef: replies[0]!.body.providerRef });
    expect(await w.status(order.id)).toBe('paid');
  });

  it('the same event delivered twice (and concurrently) is applied once', async () => {
    const w = await shop({ scenario: () => 'duplicate' });
    const order = await w.order();
    const intent = await w.pay(order.id);
    expect(await w.processed()).toEqual([{ event_id: expect.stringMatching(/^evt_/), outcome: 'applied' }]);
    expect((await w.events('order.paid')).length).toBe(1);
    expect((await w.events('payment.succeeded')).length).toBe(1);

    // A replay by hand, several at once: each answered 2xx as a duplicate, nothing changes.
    const body = JSON.stringify({ id: 'evt_manual_1', type: 'payment.succeeded', created: 1, data: { intentId: intent.id, providerRef: intent.providerRef, amount: intent.amount } });
    const signature = w.fake.sign(body);
    const replies = await Promise.all([1, 2, 3].map(() => w.webhook(body, { [FAKE_SIGNATURE_HEADER]: signature })));
    const answers = await Promise.all(replies.map((r) => r.json()));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers.filter((a: any) => a.duplicate === false).length).toBe(1); // the first one is new (and stale: already captured)
    expect((await w.processed()).map((p) => p.outcome).sort()).toEqual(['applied', 'stale']);
    expect((await w.events('order.paid')).length).toBe(1);
    expect(await w.stock('MUG')).toMatchObject({ onHand: 8, reserved: 0 });
  });

  it('a payment.failed arriving after payment.succeeded (out of order) does not undo the capture', async () => {
    const w = await shop({ scenario: () => 'out_of_order' });
    const order = await w.order();
    const intent = await w.pay(order.id);
    expect((await w.processed()).map((p) => p.outcome).sort()).toEqual(['applied', 'stale']);
    const [listed] = (await w.call('GET', `/v1/orders/${order.id}/payments`, w.ann)).body.data;
    expect(listed).toMatchObject({ id: intent.id, status: 'succeeded', failureCode: null });
    expect(await w.status(order.id)).toBe('paid');
    expect((await w.events('payment.failed')).length).toBe(0);
  });

  it('a declined payment leaves the order unpaid; a new intent can follow, and a late success still pays', async () => {
    let decline = true;
    const w = await shop({ scenario: () => (decline ? 'decline' : 'succeed') });
    const order = await w.order();
    const first = (await w.call('POST', `/v1/orders/${order.id}/payments`, w.ann)).body;
    await until('the decline', async () => (await w.processed()).length === 1);
    await w.fake.idle();
    const [failed] = (await w.call('GET', `/v1/orders/${order.id}/payments`, w.ann)).body.data;
    expect(failed).toMatchObject({ id: first.id, status: 'failed', failureCode: 'card_declined' });
    expect(await w.status(order.id)).toBe('pending_payment');
    expect((await w.events('payment.failed')).map((e) => e.payload.id)).toEqual([first.id]);
    decline = false;
    const second = await w.pay(order.id);
    expect(second.id).not.toBe(first.id);
    expect((await w.call('GET', `/v1/orders/${order.id}`, w.ann)).body.paymentId).toBe(second.id);
  });

  it('bad signature, stale timestamp, tampered body, unknown provider or intent: a 4xx problem and nothing changes', async () => {
    const w = await shop({ autoConfirm: false });
    const order = await w.order();
    const intent = (await w.call('POST', `/v1/orders/${order.id}/payments`, w.ann)).body;
    const body = JSON.stringify({ id: 'evt_forged', type: 'payment.succeeded', created: 1, data: { intentId: intent.id, providerRef: intent.providerRef, amount: intent.amount } });
    const now = Math.floor(Date.now() / 1000);
    const send = async (b: string, headers: Record<string, string>, provider?: string) => {
      const res = await w.webhook(b, headers, provider);
      return { status: res.status, body: await res.json() };
    };
    problem(await send(body, {}), 400, 'payments.invalid_signature');
    problem(await send(body, { [FAKE_SIGNATURE_HEADER]: 'garbage' }), 400, 'payments.invalid_signature');
    problem(await send(body, { [FAKE_SIGNATURE_HEADER]: `t=${now},v1=${'0'.repeat(64)}` }), 400, 'payments.invalid_signature');
    const other = createFakeProvider({ secret: 'whsec_someone_else_entirely' });
    problem(await send(body, { [FAKE_SIGNATURE_HEADER]: other.sign(body) }), 400, 'payments.invalid_signature');
    problem(await send(body, { [FAKE_SIGNATURE_HEADER]: w.fake.sign(body, now - 301) }), 400, 'payments.invalid_signature');
    problem(await send(body, { [FAKE_SIGNATURE_HEADER]: w.fake.sign(body, now + 600) }), 400, 'payments.invalid_signature');
    problem(await send(body.replace('"amount":1000', '"amount":1'), { [FAKE_SIGNATURE_HEADER]: w.fake.sign(body) }), 400, 'payments.invalid_signature');
    problem(await send(body, { [FAKE_SIGNATURE_HEADER]: w.fake.sign(body) }, 'stripe'), 404, 'payments.unknown_provider');
    const ghost = body.replace(intent.id, 'no-such-intent');
    problem(await send(ghost, { [FAKE_SIGNATURE_HEADER]: w.fake.sign(ghost) }), 404, 'payments.not_found');
    const junk = JSON.stringify({ id: 'evt_x', type: 'charge.dispute' });
    problem(await send(junk, { [FAKE_SIGNATURE_HEADER]: w.fake.sign(junk) }), 400, 'payments.invalid_event');
    problem(await send('[1,2]', { [FAKE_SIGNATURE_HEADER]: w.fake.sign('[1,2]') }), 422, 'validation.failed');
    problem(await send('{not json', { [FAKE_SIGNATURE_HEADER]: w.fake.sign('{not json') }), 400, 'request.malformed_json');

    expect(await w.processed()).toEqual([]);
    expect(await w.status(order.id)).toBe('pending_payment');
    expect((await w.call('GET', `/v1/orders/${order.id}/payments`, w.ann)).body.data[0].status).toBe('requires_confirmation');
    // A correct signature, for contrast, is applied.
    const ok = await send(body, { [FAKE_SIGNATURE_HEADER]: w.fake.sign(body) });
    expect(ok).toEqual({ status: 200, body: { received: true, duplicate: false } });
    expect(await w.status(order.id)).toBe('paid');
  });

  it('refunds: partial ones add up, never past the capture (even concurrently); full → refunded; restock returns stock', async () => {
    const w = await shop();
    const order = await w.order(w.ann, 2); // 1000 EUR
    const intent = await w.pay(order.id);
    const refund = (amount: number, extra: Record<string, unknown> = {}) =>
      w.call('POST', `/v1/orders/${order.id}/refunds`, w.staff, { amount: { amount, currency: 'EUR' }, ...extra });

    const first = await refund(300);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ paymentId: intent.id, orderId: order.id, amount: { amount: 300, currency: 'EUR' }, restock: false, orderStatus: 'partially_refunded', orderRefunded: { amount: 300, currency: 'EUR' } });
    expect(first.body.providerRef).toMatch(/^re_fake_/);

    // Three refunds of 300 at once against the 700 left: exactly two fit.
    const racing = await Promise.all([refund(300), refund(300), refund(300)]);
    expect(racing.map((r) => r.status).sort()).toEqual([201, 201, 422]);
    const refused = racing.find((r) => r.status === 422)!;
    problem(refused, 422, 'payments.refund_exceeds_captured');
    expect(refused.body.refundable).toEqual({ amount: 100, currency: 'EUR' });
    problem(await refund(101), 422, 'payments.refund_exceeds_captured');
    expect((await w.call('GET', `/v1/orders/${order.id}`, w.staff)).body).toMatchObject({ status: 'partially_refunded', refunded: { amount: 900, currency: 'EUR' } });
    expect(await w.stock('MUG')).toMatchObject({ onHand: 8 });

    const last = await refund(100, { restock: true });
    expect(last.body).toMatchObject({ orderStatus: 'refunded', orderRefunded: { amount: 1000, currency: 'EUR' }, restock: true });
    expect(await w.stock('MUG')).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
    problem(await refund(1), 409, 'payments.not_captured');

    const [listed] = (await w.call('GET', `/v1/orders/${order.id}/payments`, w.staff)).body.data;
    expect(listed.refunded).toEqual({ amount: 1000, currency: 'EUR' });
    expect(listed.refunds.map((r: any) => r.amount.amount)).toEqual([300, 300, 300, 100]);
    expect((await w.events('order.refunded')).map((e) => e.payload.status)).toEqual(['partially_refunded', 'partially_refunded', 'partially_refunded', 'refunded']);
    const audit = (await w.call('GET', '/v1/audit?limit=100', w.admin)).body.data.filter((e: any) => e.action === 'payments.refund.created');
    expect(audit.length).toBe(4);
    expect(audit[0]).toMatchObject({ actorType: 'user', actorId: w.staff.id });
  });

  it('POST /v1/orders/:id/payments: validation, unauthenticated, forbidden, not found, not payable', async () => {
    const w = await shop({ autoConfirm: false });
    const order = await w.order();
    problem(await w.call('POST', `/v1/orders/${order.id}/payments`, w.ann, { amount: 1 }), 422, 'validation.failed');
    problem(await w.call('POST', `/v1/orders/${order.id}/payments`, null), 401, 'auth.unauthenticated');
    const nobody = await w.person([]);
    problem(await w.call('POST', `/v1/orders/${order.id}/payments`, nobody), 403, 'auth.forbidden');
    problem(await w.call('POST', `/v1/orders/${order.id}/payments`, w.bob), 404, 'orders.not_found'); // someone else's order
    problem(await w.call('POST', '/v1/orders/missing/payments', w.ann), 404, 'orders.not_found');
    expect((await w.call('GET', `/v1/orders/${order.id}/payments`, w.staff)).body.data).toEqual([]);
    const cancelled = await w.order();
    expect((await w.call('POST', `/v1/orders/${cancelled.id}/cancel`, w.ann)).status).toBe(200);
    const refusal = await w.call('POST', `/v1/orders/${cancelled.id}/payments`, w.ann);
    problem(refusal, 409, 'payments.not_payable');
    expect(refusal.body.orderStatus).toBe('cancelled');
    expect(await w.app.plinth.db.selectFrom('payment_intents').select('id').execute()).toEqual([]);
  });

  it('GET /v1/orders/:id/payments: owner and staff only, validated, paged', async () => {
    const w = await shop({ scenario: () => 'decline' });
    const order = await w.order();
    for (let i = 0; i < 3; i++) {
      await w.call('POST', `/v1/orders/${order.id}/payments`, w.ann);
      await until('the decline', async () => (await w.processed()).length === i + 1);
    }
    await w.fake.idle();
    const page1 = await w.call('GET', `/v1/orders/${order.id}/payments?limit=2`, w.ann);
    expect(page1.body.data.length).toBe(2);
    const page2 = await w.call('GET', `/v1/orders/${order.id}/payments?limit=2&cursor=${page1.body.nextCursor}`, w.ann);
    expect(page2.body).toMatchObject({ nextCursor: null });
    expect(page2.body.data.length).toBe(1);
    expect((await w.call('GET', `/v1/orders/${order.id}/payments`, w.staff)).body.data.length).toBe(3);
    problem(await w.call('GET', `/v1/orders/${order.id}/payments?limit=0`, w.ann), 422, 'validation.failed');
    problem(await w.call('GET', `/v1/orders/${order.id}/payments`, null), 401, 'auth.unauthenticated');
    problem(await w.call('GET', `/v1/orders/${order.id}/payments`, await w.person([])), 403, 'auth.forbidden');
    problem(await w.call('GET', `/v1/orders/${order.id}/payments`, w.bob), 404, 'orders.not_found');
    problem(await w.call('GET', '/v1/orders/missing/payments', w.staff), 404, 'orders.not_found');
  });

  it('POST /v1/orders/:id/refunds: validation, unauthenticated, forbidden, not found, not captured, currency', async () => {
    const w = await shop();
    const unpaid = await w.order();
    const paid = await w.order();
    await w.pay(paid.id);
    const eur = (amount: number) => ({ amount: { amount, currency: 'EUR' } });
    for (const bad of [{}, { amount: { amount: 0, currency: 'EUR' } }, { amount: { amount: -5, currency: 'EUR' } }, { amount: { amount: 1.5, currency: 'EUR' } }, { ...eur(1), note: 'x' }]) {
      problem(await w.call('POST', `/v1/orders/${paid.id}/refunds`, w.staff, bad), 422, 'validation.failed');
    }
    problem(await w.call('POST', `/v1/orders/${paid.id}/refunds`, null, eur(1)), 401, 'auth.unauthenticated');
    problem(await w.call('POST', `/v1/orders/${paid.id}/refunds`, w.ann, eur(1)), 403, 'auth.forbidden'); // customers cannot refund, even their own
    problem(await w.call('POST', '/v1/orders/missing/refunds', w.staff, eur(1)), 404, 'orders.not_found');
    problem(await w.call('POST', `/v1/orders/${unpaid.id}/refunds`, w.staff, eur(1)), 409, 'payments.not_captured');
    problem(await w.call('POST', `/v1/orders/${paid.id}/refunds`, w.staff, { amount: { amount: 1, currency: 'USD' } }), 422, 'payments.currency_mismatch');
    expect((await w.call('GET', `/v1/orders/${paid.id}`, w.staff)).body).toMatchObject({ status: 'paid', refunded: { amount: 0 } });
    expect((await w.events('order.refunded')).length).toBe(0);
    const ok = await w.call('POST', `/v1/orders/${paid.id}/refunds`, w.admin, eur(1000));
    expect(ok.body.orderStatus).toBe('refunded');
  });
});
