/**
 * The payment provider seam.
 *
 * Terminology: an **intent** is one attempt to charge an order (ours has an id,
 * the provider's has a `providerRef`); the provider **captures** the money when
 * the customer confirms and reports the outcome through a signed **event**
 * POSTed to `/v1/payments/webhooks/<name>`; a **refund** returns some or all of
 * what was captured.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Money } from '../../contract/money.js';
import type { KernelContext } from '../../module.js';

/** An inbound event, once its signature is verified. */
export interface ProviderEvent {
  /** The provider's event id: an event applies once, whatever the deliveries. */
  id: string;
  type: 'payment.succeeded' | 'payment.failed';
  /** Our intent id (sent to the provider as metadata when the intent was made). */
  intentId: string;
  providerRef: string;
  /** What was captured (`payment.succeeded`). */
  amount?: Money;
  /** Why it was declined (`payment.failed`). */
  failureCode?: string;
}

export interface PaymentProvider {
  /** Called once when the app starts (secrets, the webhook URL...). */
  start?(kernel: KernelContext, name: string): void | Promise<void>;
  /** Stops timers and outgoing deliveries. */
  close?(): void | Promise<void>;
  /** Opens an intent at the provider; the outcome arrives later, as an event. */
  createIntent(input: { intentId: string; orderId: string; amount: Money }): Promise<{ providerRef: string }>;
  /** Captures a confirmed intent (what the customer's confirmation triggers); its outcome arrives as an event. */
  capture(input: { providerRef: string }): Promise<void>;
  /** Refunds `amount` of a captured intent, synchronously; throws when the provider refuses. */
  refund(input: { providerRef: string; refundId: string; amount: Money }): Promise<{ providerRef: string }>;
  /**
   * Checks an inbound request's signature over its exact body and answers the event in it.
   * Throws a 400 `payments.invalid_signature` (bad, missing or stale signature) or
   * `payments.invalid_event` (signed, but not an event this provider sends).
   */
  verifyWebhook(input: { headers: IncomingHttpHeaders; rawBody: string; now: number }): ProviderEvent;
}
