import { paymentsRoutes } from '../../contract/payments.js';
import type { RouteDef } from '../../contract/route.js';
import { type HandlerContext, implement } from '../../module.js';
import { callerOf } from '../access/routes.js';
import { paymentsError } from './errors.js';
import type { PaymentsService } from './service.js';

const payments = (ctx: HandlerContext<RouteDef>) => ctx.kernel.service<PaymentsService>('payments');

/** The payments module's HTTP routes: parse, call the service, answer. */
export const paymentsRouteImplementations = [
  implement(paymentsRoutes.createPayment, (ctx) => payments(ctx).createPayment(ctx.params.id, callerOf(ctx))),
  implement(paymentsRoutes.listPayments, (ctx) => payments(ctx).listPayments(ctx.params.id, ctx.query, callerOf(ctx))),
  implement(paymentsRoutes.createRefund, (ctx) => payments(ctx).refund(ctx.params.id, ctx.body, callerOf(ctx))),
  implement(paymentsRoutes.receivePaymentWebhook, (ctx) => {
    if (ctx.rawBody === undefined) throw paymentsError('payments.invalid_event', 'The event has no body');
    return payments(ctx).receiveWebhook(ctx.params.provider, { headers: ctx.headers, rawBody: ctx.rawBody });
  }),
];
