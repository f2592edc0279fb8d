import type { IncomingHttpHeaders } from 'node:http';
import type { Money } from '../../contract/money.js';
import type { PaymentStatus } from '../../contract/payments.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import { pageOf } from '../catalog/keyset.js';
import type { Caller } from '../identity/types.js';
import type { OrdersService } from '../orders/service.js';
import { paymentsError } from './errors.js';
import type { PaymentProvider, ProviderEvent } from './provider.js';

export interface PaymentRefund {
  id: string;
  paymentId: string;
  orderId: string;
  amount: Money;
  restock: boolean;
  providerRef: string | null;
  createdAt: string;
}

export interface PaymentIntent {
  id: string;
  orderId: string;
  status: PaymentStatus;
  amount: Money;
  refunded: Money;
  provider: string;
  providerRef: string | null;
  failureCode: string | null;
  createdAt: string;
  updatedAt: string;
  succeededAt: string | null;
  refunds: PaymentRefund[];
}

export interface RefundResult extends PaymentRefund {
  orderStatus: 'refunded' | 'partially_refunded';
  orderRefunded: Money;
}

export interface PaymentsService {
  /**
   * A payment intent for an unpaid order the caller may see (its owner, or staff): an open one
   * is answered as it is; otherwise a new one is opened at the provider, which confirms later.
   */
  createPayment(orderId: string, caller: Caller): Promise<PaymentIntent>;
  /** The order's intents, newest first, with their refunds. */
  listPayments(orderId: string, query: { limit?: number | undefined; cursor?: string | undefined }, caller: Caller): Promise<{ data: PaymentIntent[]; nextCursor: string | null }>;
  /** Refunds part or all of the captured payment of an order (`payments:refund`; audited). */
  refund(orderId: string, input: { amount: Money; restock?: boolean | undefined }, caller: Caller): Promise<RefundResult>;
  /** Verifies and applies a provider's inbound event, once per event id. */
  receiveWebhook(provider: string, input: { headers: IncomingHttpHeaders; rawBody: string }): Promise<{ received: true; duplicate: boolean }>;
  /** The providers by name. */
  readonly providers: Readonly<Record<string, PaymentProvider>>;
}

interface IntentRow {
  id: string;
  order_id: string;
  provider: string;
  provider_ref: string | null;
  status: PaymentStatus;
  currency: string;
  amount: number;
  refunded: number;
  failure_code: string | null;
  created_at: string;
  updated_at: string;
  succeeded_at: string | null;
}

interface RefundRow {
  id: string;
  intent_id: string;
  order_id: string;
  currency: string;
  amount: number;
  restock: unknown;
  provider_ref: string | null;
  created_at: string;
}

const INTENT_COLUMNS = ['id', 'order_id', 'provider', 'provider_ref', 'status', 'currency', 'amount', 'refunded', 'failure_code', 'created_at', 'updated_at', 'succeeded_at'] as const;
const REFUND_COLUMNS = ['id', 'intent_id', 'order_id', 'currency', 'amount', 'restock', 'provider_ref', 'created_at'] as const;
const REFUNDABLE = new Set(['paid', 'fulfilled', 'partially_refunded']);

export function createPaymentsService(kernel: KernelContext, providers: Readonly<Record<string, PaymentProvider>>, defaultProvider: string): PaymentsService {
  const db = () => kernel.db;
  const iso = () => new Date(kernel.clock.now()).toISOString();
  const orders = () => kernel.service<OrdersService>('orders');
  const audit = () => kernel.service<AuditService>('audit');

  const toRefund = (r: RefundRow): PaymentRefund => ({
    id: r.id, paymentId: r.intent_id, orderId: r.order_id, amount: { amount: Number(r.amount), currency: r.currency },
    restock: kernel.storage.fromBoolean(r.restock), providerRef: r.provider_ref, createdAt: r.created_at,
  });
  const toIntent = (r: IntentRow, refunds: PaymentRefund[]): PaymentIntent => ({
    id: r.id, orderId: r.order_id, status: r.status, amount: { amount: Number(r.amount), currency: r.currency },
    refunded: { amount: Number(r.refunded), currency: r.currency }, provider: r.provider, providerRef: r.provider_ref,
    failureCode: r.failure_code, createdAt: r.created_at, updatedAt: r.updated_at, succeededAt: r.succeeded_at, refunds,
  });

  async function withRefunds(rows: IntentRow[]): Promise<PaymentIntent[]> {
    if (rows.length === 0) return [];
    const refunds = (await db().selectFrom('payment_refunds').select(REFUND_COLUMNS).where('intent_id', 'in', rows.map((r) => r.id)).orderBy('id').execute()) as RefundRow[];
    return rows.map((r) => toIntent(r, refunds.filter((x) => x.intent_id === r.id).map(toRefund)));
  }

  async function readIntent(id: string, lock = false): Promise<IntentRow | undefined> {
    const q = db().selectFrom('payment_intents').select(INTENT_COLUMNS).where('id', '=', id);
    return (await (lock ? kernel.storage.forUpdate(q) : q).executeTakeFirst()) as IntentRow | undefined;
  }

  /** Every payment change of an order takes the order's row first (then its intents): one lock order, no deadlocks. */
  async function lockOrder(orderId: string): Promise<void> {
    await kernel.storage.forUpdate(db().selectFrom('orders').select('id').where('id', '=', orderId)).executeTakeFirst();
  }

  async function markProviderFailure(intentId: string): Promise<void> {
    await kernel.transaction(async () => {
      await db()
        .updateTable('payment_intents')
        .set({ status: 'failed', failure_code: 'provider_error', updated_at: iso() })
        .where('id', '=', intentId)
        .where('status', '=', 'requires_confirmation')
        .execute();
    });
  }

  /** What an event does to an intent: `applied`, or why it changes nothing. */
  function outcomeOf(intent: IntentRow, event: ProviderEvent): 'applied' | 'stale' | 'amount_mismatch' {
    if (event.type === 'payment.succeeded') {
      if (!event.amount || event.amount.amount !== Number(intent.amount) || event.amount.currency !== intent.currency) return 'amount_mismatch';
      return intent.status === 'succeeded' ? 'stale' : 'applied'; // a failed attempt may be followed by a successful one
    }
    return intent.status === 'requires_confirmation' ? 'applied' : 'stale'; // a decline never undoes a capture
  }

  const service: PaymentsService = {
    providers,

    async createPayment(orderId, caller) {
      await kernel.authorize(caller.actor, 'payments:create');
      await orders().getOrder(orderId, caller); // 404 unless the caller may see the order
      const provider = providers[defaultProvider]!;
      const opened = await kernel.transaction(async () => {
        await lockOrder(orderId);
        const order = await orders().payable(orderId);
        const expired = order.expiresAt !== null && Date.parse(order.expiresAt) <= kernel.clock.now();
        if (order.status !== 'pending_payment' || expired) {
          throw paymentsError('payments.not_payable', `An order that is ${expired ? 'expired' : order.status} cannot be paid`, { details: { orderStatus: expired ? 'expired' : order.status } });
        }
        const open = (await db()
          .selectFrom('payment_intents')
          .select(INTENT_COLUMNS)
          .where('order_id', '=', orderId)
          .where('status', '=', 'requires_confirmation')
          .executeTakeFirst()) as IntentRow | undefined;
        if (open) return { row: open, isNew: false };
        const at = iso();
        const row: IntentRow = {
          id: kernel.ids.next(), order_id: orderId, provider: defaultProvider, provider_ref: null, status: 'requires_confirmation',
          currency: order.total.currency, amount: order.total.amount, refunded: 0, failure_code: null, created_at: at, updated_at: at, succeeded_at: null,
        };
        await db().insertInto('payment_intents').values(row).execute();
        return { row, isNew: true };
      });
      if (!opened.isNew) return (await withRefunds([opened.row]))[0]!;
      // The provider is called outside the transaction (no lock held over the network); the intent row is already committed,
      // so an event that arrives quickly finds it.
      let providerRef: string;
      try {
        ({ providerRef } = await provider.createIntent({ intentId: opened.row.id, orderId, amount: { amount: Number(opened.row.amount), currency: opened.row.currency } }));
      } catch (error) {
        kernel.logger.error({ err: error, intentId: opened.row.id }, 'payment provider refused to open an intent');
        await markProviderFailure(opened.row.id);
        throw paymentsError('payments.provider_failed', 'The payment provider could not be reached; try again');
      }
      const updatedAt = iso();
      await kernel.transaction(async () => {
        await db().updateTable('payment_intents').set({ provider_ref: providerRef, updated_at: updatedAt }).where('id', '=', opened.row.id).where('provider_ref', 'is', null).execute();
      });
      const row = (await readIntent(opened.row.id))!;
      return toIntent(row, []);
    },

    async listPayments(orderId, query, caller) {
      await orders().getOrder(orderId, caller); // 401 / 403 / 404 as for the order itself
      const limit = Math.min(Math.max(query.limit ?? 20, 1), 100);
      let q = db().selectFrom('payment_intents').select(INTENT_COLUMNS).where('order_id', '=', orderId);
      if (query.cursor) q = q.where('id', '<', query.cursor);
      const rows = (await q.orderBy('id', 'desc').limit(limit + 1).execute()) as IntentRow[];
      const intents = await withRefunds(rows.slice(0, limit));
      const byId = new Map(intents.map((i) => [i.id, i]));
      return pageOf(rows, limit, (r) => r.id, (r) => byId.get(r.id)!);
    },

    async refund(orderId, input, caller) {
      await kernel.authorize(caller.actor, 'payments:refund', { type: 'order', id: orderId });
      const { amount } = input;
      return kernel.transaction(async () => {
        await lockOrder(orderId);
        const order = await orders().payable(orderId);
        if (!REFUNDABLE.has(order.status) || !order.paymentId) {
          throw paymentsError('payments.not_captured', `An order that is ${order.status} has no payment left to refund`, { details: { orderStatus: order.status } });
        }
        const intent = await readIntent(order.paymentId, true);
        if (!intent || intent.status !== 'succeeded') throw paymentsError('payments.not_captured', 'The order has no captured payment');
        if (amount.currency !== intent.currency) {
          throw paymentsError('payments.currency_mismatch', `The payment was made in ${intent.currency}`, { details: { currency: intent.currency } });
        }
        // The rule as one conditional update: its affected row decides, never a read-modify-write.
        const updatedAt = iso();
        const moved = await db()
          .updateTable('payment_intents')
          .set((eb) => ({ refunded: eb('refunded', '+', amount.amount), updated_at: updatedAt }))
          .where('id', '=', intent.id)
          .where((eb) => eb(eb('refunded', '+', amount.amount), '<=', eb.ref('amount')))
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) {
          const left = Number(intent.amount) - Number(intent.refunded);
          throw paymentsError('payments.refund_exceeds_captured', `Only ${left} ${intent.currency} of the payment is left to refund`, {
            details: { refundable: { amount: left, currency: intent.currency } },
          });
        }
        const refundId = kernel.ids.next();
        const next = await orders().recordRefund(orderId, { amount, restock: input.restock ?? false }, caller);
        const provider = providers[intent.provider];
        if (!provider) throw paymentsError('payments.unknown_provider', `The provider "${intent.provider}" of this payment is not configured`);
        // Last, so that a refusal rolls everything back. (Should the commit fail after this, the provider has
        // refunded and the database has not: the provider's dashboard shows it; the error is logged.)
        let providerRef: string;
        try {
          ({ providerRef } = await provider.refund({ providerRef: intent.provider_ref ?? '', refundId, amount }));
        } catch (error) {
          kernel.logger.error({ err: error, paymentId: intent.id }, 'payment provider refused a refund');
          throw paymentsError('payments.provider_failed', 'The payment provider refused the refund; nothing was refunded');
        }
        const restock = input.restock ?? false;
        const createdAt = iso();
        await db()
          .insertInto('payment_refunds')
          .values({ id: refundId, intent_id: intent.id, order_id: orderId, currency: amount.currency, amount: amount.amount, restock, provider_ref: providerRef, created_by: caller.actor?.kind === 'user' ? caller.actor.userId : null, created_at: createdAt })
          .execute();
        await audit().record(caller, {
          action: 'payments.refund.created',
          target: { type: 'order', id: orderId },
          data: { refundId, paymentId: intent.id, amount: amount.amount, currency: amount.currency, restock },
        });
        return {
          id: refundId, paymentId: intent.id, orderId, amount, restock, providerRef, createdAt,
          orderStatus: next.status as 'refunded' | 'partially_refunded', orderRefunded: next.refunded,
        };
      });
    },

    async receiveWebhook(name, input) {
      const provider = Object.hasOwn(providers, name) ? providers[name] : undefined;
      if (!provider) throw paymentsError('payments.unknown_provider', `No payment provider is called "${name}"`);
      const event = provider.verifyWebhook({ headers: input.headers, rawBody: input.rawBody, now: kernel.clock.now() });
      const found = await readIntent(event.intentId);
      if (!found || found.provider !== name) throw paymentsError('payments.not_found', 'The event names no payment of this provider');
      return kernel.transaction(async () => {
        await lockOrder(found.order_id);
        const intent = (await readIntent(found.id, true))!;
        if (intent.provider_ref !== null && intent.provider_ref !== event.providerRef) {
          throw paymentsError('payments.invalid_event', "The event's provider reference does not match the payment");
        }
        const outcome = outcomeOf(intent, event);
        // The claim: a replayed or duplicated event inserts nothing and changes nothing.
        const claimed = await db()
          .insertInto('payment_events')
          .values({ provider: name, event_id: event.id, intent_id: intent.id, type: event.type, outcome, received_at: iso() })
          .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
          .returning('event_id')
          .executeTakeFirst();
        if (!claimed) return { received: true as const, duplicate: true };
        if (outcome === 'amount_mismatch') {
          kernel.logger.error({ paymentId: intent.id, eventId: event.id }, 'payment event amount differs from the payment: not applied');
        }
        if (outcome !== 'applied') return { received: true as const, duplicate: false };
        const at = iso();
        if (event.type === 'payment.succeeded') {
          await db()
            .updateTable('payment_intents')
            .set({ status: 'succeeded', provider_ref: event.providerRef, failure_code: null, succeeded_at: at, updated_at: at })
            .where('id', '=', intent.id)
            .execute();
          const order = await orders().payable(intent.order_id);
          const orderPaid = order.status === 'pending_payment';
          if (orderPaid) {
            await orders().markPaid(intent.order_id, { paymentId: intent.id, amount: { amount: Number(intent.amount), currency: intent.currency } });
          } else {
            // Captured after the order expired, was cancelled or was paid by another intent: the money must go back.
            kernel.logger.warn({ paymentId: intent.id, orderId: intent.order_id, status: order.status }, 'payment captured for an order that is no longer payable: refund it at the provider');
          }
          await kernel.emit({
            type: 'payment.succeeded',
            aggregate: { type: 'payment', id: intent.id },
            payload: { id: intent.id, orderId: intent.order_id, provider: name, amount: { amount: Number(intent.amount), currency: intent.currency }, orderPaid },
          });
        } else {
          await db()
            .updateTable('payment_intents')
            .set({ status: 'failed', provider_ref: event.providerRef, failure_code: event.failureCode ?? 'declined', updated_at: at })
            .where('id', '=', intent.id)
            .execute();
          await kernel.emit({
            type: 'payment.failed',
            aggregate: { type: 'payment', id: intent.id },
            payload: { id: intent.id, orderId: intent.order_id, provider: name, failureCode: event.failureCode ?? 'declined' },
          });
        }
        return { received: true as const, duplicate: false };
      });
    },
  };
  return service;
}
