import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { request } from 'undici';
import type { Money } from '../../contract/money.js';
import type { Logger } from '../../logger.js';
import type { KernelContext } from '../../module.js';
import { paymentsError } from './errors.js';
import type { PaymentProvider, ProviderEvent } from './provider.js';
import type { PaymentsService } from './service.js';

/** Where the fake signs its events: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` (Stripe's scheme). */
export const FAKE_SIGNATURE_HEADER = 'plinth-fake-signature';
/** Events older or newer than this (seconds) are refused: a captured request cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * What the fake does with an intent once the customer confirms:
 * `succeed`; `decline` (a `payment.failed`); `duplicate` (the same `payment.succeeded` delivered twice);
 * `out_of_order` (an earlier declined attempt's `payment.failed` arrives after the `payment.succeeded`).
 */
export type FakeScenario = 'succeed' | 'decline' | 'duplicate' | 'out_of_order';

export interface FakeProviderOptions {
  /** Signing secret; default the `payments.fakeSecret` config, else derived from the encryption key. */
  secret?: string;
  /** Where events are POSTed; default `${appUrl}/v1/payments/webhooks/<name>`. A function is read at each delivery. */
  webhookUrl?: string | (() => string);
  /** How long the customer takes to confirm, in ms; default 250. */
  confirmAfterMs?: number;
  /** `false`: nothing confirms on its own, call `capture()`; default true. */
  autoConfirm?: boolean;
  /** Picks each intent's scenario; default every intent succeeds. */
  scenario?: (intent: { intentId: string; orderId: string; amount: Money }) => FakeScenario;
  /** Timeout of one delivery, in ms; default 5000. */
  timeoutMs?: number;
  /** Deliveries tried per event (non-2xx or network error retried, 1 s apart); default 3. */
  attempts?: number;
  /**
   * `http` (default): POST each signed event to the webhook URL, like a real provider. `in-process`: hand the
   * same signed body to the payments service directly (an app without a server, `plinth seed`).
   */
  delivery?: 'http' | 'in-process';
}

export interface FakeProvider extends PaymentProvider {
  /** The signature header value for `rawBody` (tests, and tools that replay events). */
  sign(rawBody: string, timestamp?: number): string;
  /** Resolves when no confirmation or delivery is pending. */
  idle(): Promise<void>;
}

interface FakeIntent {
  intentId: string;
  orderId: string;
  amount: Money;
  scenario: FakeScenario;
  captured: boolean;
  refunded: number;
}

const hmac = (secret: string, timestamp: number, body: string) => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
const eventId = () => `evt_${randomBytes(12).toString('hex')}`;

/**
 * A payment provider that behaves like a real one, in process: it confirms
 * asynchronously by POSTing signed events to Plinth's inbound webhook, and can
 * be told to decline, to deliver twice or out of order. Its memory of intents
 * is the process's: after a restart it accepts refunds it cannot check (Plinth's
 * own check, in the database, still holds).
 */
export function createFakeProvider(options: FakeProviderOptions = {}): FakeProvider {
  const intents = new Map<string, FakeIntent>();
  const pending = new Set<Promise<unknown>>();
  const timers = new Set<NodeJS.Timeout>();
  let secret = options.secret;
  let defaultUrl = '';
  let log: Logger | undefined;
  let kernelRef: KernelContext | undefined;
  let providerName = 'fake';
  let closed = false;

  const track = (p: Promise<unknown>) => {
    pending.add(p);
    const done = () => pending.delete(p);
    p.then(done, (error: unknown) => {
      done();
      log?.warn({ err: error }, 'fake payment provider: confirmation failed');
    });
  };
  const later = (ms: number, fn: () => Promise<unknown>) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) track(fn());
    }, ms);
    timers.add(timer);
  };
  const secretOf = () => {
    if (!secret) throw new Error('The fake payment provider is not started (no secret)');
    return secret;
  };
  const urlOf = () => (typeof options.webhookUrl === 'function' ? options.webhookUrl() : (options.webhookUrl ?? defaultUrl));

  async function deliver(event: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify(event);
    const attempts = options.attempts ?? 3;
    if (options.delivery === 'in-process') {
      const payments = kernelRef!.service<PaymentsService>('payments');
      await payments.receiveWebhook(providerName, { headers: { [FAKE_SIGNATURE_HEADER]: provider.sign(body) }, rawBody: body });
      return;
    }
    for (let attempt = 1; attempt <= attempts && !closed; attempt++) {
      try {
        const res = await request(urlOf(), {
          method: 'POST',
          headers: { 'content-type': 'application/json', [FAKE_SIGNATURE_HEADER]: provider.sign(body) },
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
        });
        await res.body.dump();
        if (res.statusCode < 300) return;
        log?.warn({ eventId: event.id, status: res.statusCode, attempt }, 'fake payment provider: webhook delivery refused');
        if (res.statusCode < 500 && res.statusCode !== 409 && res.statusCode !== 429) return; // will not get better
      } catch (error) {
        log?.warn({ eventId: event.id, attempt, err: error }, 'fake payment provider: webhook delivery failed');
      }
      if (attempt < attempts) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  function succeeded(providerRef: string, intent: FakeIntent, created: number) {
    return { id: eventId(), type: 'payment.succeeded', created, data: { intentId: intent.intentId, providerRef, amount: intent.amount } };
  }
  function failed(providerRef: string, intent: FakeIntent, created: number) {
    return { id: eventId(), type: 'payment.failed', created, data: { intentId: intent.intentId, providerRef, failureCode: 'card_declined' } };
  }

  const provider: FakeProvider = {
    start(kernel: KernelContext, name: string) {
      log = kernel.logger;
      kernelRef = kernel;
      providerName = name;
      secret ??= kernel.config.payments.fakeSecret ?? `whsec_${kernel.secrets.mac('fake-provider', 'payments.fake-secret').split('.')[1]}`;
      defaultUrl = `${kernel.config.appUrl.replace(/\/$/, '')}/v1/payments/webhooks/${encodeURIComponent(name)}`;
      closed = false;
    },

    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await provider.idle();
    },

    async createIntent({ intentId, orderId, amount }) {
      const providerRef = `pi_fake_${randomBytes(12).toString('hex')}`;
      const scenario = options.scenario?.({ intentId, orderId, amount }) ?? 'succeed';
      intents.set(providerRef, { intentId, orderId, amount, scenario, captured: false, refunded: 0 });
      if (options.autoConfirm ?? true) later(options.confirmAfterMs ?? 250, () => provider.capture({ providerRef }));
      return { providerRef };
    },

    async capture({ providerRef }) {
      const intent = intents.get(providerRef);
      if (!intent) throw paymentsError('payments.provider_failed', 'The fake provider knows no such intent');
      const now = Math.floor(Date.now() / 1000);
      const events: Record<string, unknown>[] = [];
      switch (intent.scenario) {
        case 'decline':
          events.push(failed(providerRef, intent, now));
          break;
        case 'duplicate': {
          intent.captured = true;
          const once = succeeded(providerRef, intent, now);
          events.push(once, once);
          break;
        }
        case 'out_of_order':
          intent.captured = true;
          events.push(succeeded(providerRef, intent, now), failed(providerRef, intent, now - 1));
          break;
        default:
          intent.captured = true;
          events.push(succeeded(providerRef, intent, now));
      }
      const run = (async () => {
        for (const event of events) await deliver(event);
      })();
      track(run);
      await run;
    },

    async refund({ providerRef, amount }) {
      const intent = intents.get(providerRef);
      if (intent) {
        if (!intent.captured) throw paymentsError('payments.provider_failed', 'The fake provider has captured nothing on this intent');
        if (amount.currency !== intent.amount.currency || intent.refunded + amount.amount > intent.amount.amount) {
          throw paymentsError('payments.provider_failed', 'The fake provider refuses a refund above what it captured');
        }
        intent.refunded += amount.amount;
      }
      return { providerRef: `re_fake_${randomBytes(12).toString('hex')}` };
    },

    verifyWebhook({ headers, rawBody, now }): ProviderEvent {
      const header = headers[FAKE_SIGNATURE_HEADER];
      const value = Array.isArray(header) ? header[0] : header;
      const bad = (why: string) => paymentsError('payments.invalid_signature', `The webhook signature is not valid: ${why}`);
      if (!value) throw bad('no signature header');
      let timestamp: number | undefined;
      const signatures: string[] = [];
      for (const part of value.split(',')) {
        const at = part.indexOf('=');
        const key = part.slice(0, at).trim();
        const v = part.slice(at + 1).trim();
        if (key === 't' && /^\d{1,12}$/.test(v)) timestamp = Number(v);
        else if (key === 'v1' && /^[0-9a-f]{64}$/.test(v)) signatures.push(v);
      }
      if (timestamp === undefined || signatures.length === 0) throw bad('malformed header');
      if (Math.abs(Math.floor(now / 1000) - timestamp) > SIGNATURE_TOLERANCE_SECONDS) throw bad('timestamp outside the tolerance');
      const expected = Buffer.from(hmac(secretOf(), timestamp, rawBody), 'hex');
      if (!signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected))) throw bad('no matching signature');

      let event: { id?: unknown; type?: unknown; data?: Record<string, unknown> };
      try {
        event = JSON.parse(rawBody);
      } catch {
        throw paymentsError('payments.invalid_event', 'The event is not JSON');
      }
      const data = event.data ?? {};
      const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 128;
      if (!str(event.id) || (event.type !== 'payment.succeeded' && event.type !== 'payment.failed') || !str(data.intentId) || !str(data.providerRef)) {
        throw paymentsError('payments.invalid_event', 'The event is not one the fake provider sends');
      }
      const out: ProviderEvent = { id: event.id as string, type: event.type, intentId: data.intentId as string, providerRef: data.providerRef as string };
      const amount = data.amount as Money | undefined;
      if (event.type === 'payment.succeeded') {
        if (!amount || !Number.isSafeInteger(amount.amount) || typeof amount.currency !== 'string') throw paymentsError('payments.invalid_event', 'A payment.succeeded event carries its amount');
        out.amount = { amount: amount.amount, currency: amount.currency };
      } else if (str(data.failureCode)) {
        out.failureCode = data.failureCode as string;
      }
      return out;
    },

    sign(rawBody, timestamp = Math.floor(Date.now() / 1000)) {
      return `t=${timestamp},v1=${hmac(secretOf(), timestamp, rawBody)}`;
    },

    async idle() {
      while (pending.size > 0 || timers.size > 0) {
        if (pending.size > 0) await Promise.allSettled([...pending]);
        else await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  return provider;
}
