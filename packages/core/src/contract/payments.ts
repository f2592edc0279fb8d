import { z } from 'zod';
import { listOf, pageQuery } from './identity.js';
import { moneySchema } from './money.js';
import { defineRoute } from './route.js';

export const paymentsErrors = {
  'payments.not_found': 404,
  'payments.unknown_provider': 404,
  'payments.not_payable': 409,
  'payments.not_captured': 409,
  'payments.invalid_signature': 400,
  'payments.invalid_event': 400,
  'payments.currency_mismatch': 422,
  'payments.refund_exceeds_captured': 422,
  'payments.provider_failed': 502,
} as const;
export type PaymentsErrorCode = keyof typeof paymentsErrors;

/** `requires_confirmation` until the provider reports; `failed` may still become `succeeded` (a later attempt). */
export const paymentStatuses = ['requires_confirmation', 'succeeded', 'failed'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

const id = z.string().min(1).max(64);

export const paymentRefundSchema = z.object({
  id: z.string(),
  paymentId: z.string(),
  orderId: z.string(),
  amount: moneySchema,
  restock: z.boolean(),
  /** The provider's id for the refund. */
  providerRef: z.string().nullable(),
  createdAt: z.string(),
});

export const paymentIntentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  status: z.enum(paymentStatuses),
  /** What is charged: the order's total. */
  amount: moneySchema,
  /** What has been refunded of it so far. */
  refunded: moneySchema,
  /** Name of the provider (`fake`, ...). */
  provider: z.string(),
  /** The provider's id for the intent. */
  providerRef: z.string().nullable(),
  /** Why the provider declined, when `failed`. */
  failureCode: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  succeededAt: z.string().nullable(),
  refunds: z.array(paymentRefundSchema),
});

/** A refund answer: the refund and where the order stands now. */
export const refundResultSchema = paymentRefundSchema.extend({
  orderStatus: z.enum(['refunded', 'partially_refunded']),
  /** Everything refunded on the order so far. */
  orderRefunded: moneySchema,
});

export const paymentsRoutes = {
  createPayment: defineRoute({
    method: 'POST', path: '/v1/orders/:id/payments', operationId: 'createPayment', tags: ['payments'], status: 201,
    summary: 'Start paying an unpaid order: a payment intent (an open one is answered rather than a second one made).',
    permission: 'payments:create', params: z.object({ id }), body: z.object({}).strict().optional(), response: paymentIntentSchema,
  }),
  listPayments: defineRoute({
    method: 'GET', path: '/v1/orders/:id/payments', operationId: 'listPayments', tags: ['payments'],
    summary: 'The payment intents of an order, newest first, with their refunds.',
    params: z.object({ id }), query: pageQuery, response: listOf(paymentIntentSchema),
  }),
  createRefund: defineRoute({
    method: 'POST', path: '/v1/orders/:id/refunds', operationId: 'createRefund', tags: ['payments'], status: 201,
    summary: 'Refund some or all of what was captured; `restock` puts the units back on hand (audited).',
    permission: 'payments:refund', params: z.object({ id }),
    body: z.object({ amount: moneySchema.extend({ amount: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict(), restock: z.boolean().optional() }).strict(),
    response: refundResultSchema,
  }),
  receivePaymentWebhook: defineRoute({
    method: 'POST', path: '/v1/payments/webhooks/:provider', operationId: 'receivePaymentWebhook', tags: ['payments'], auth: 'public', rawBody: true,
    summary: "A payment provider's signed event (verified against the raw body; a replayed event is applied once).",
    params: z.object({ provider: z.string().min(1).max(64) }), body: z.record(z.string(), z.unknown()),
    response: z.object({ received: z.literal(true), duplicate: z.boolean() }),
  }),
} as const;
