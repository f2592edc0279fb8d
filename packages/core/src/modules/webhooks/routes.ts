import { webhooksRoutes } from '../../contract/webhooks.js';
import type { RouteDef } from '../../contract/route.js';
import { type HandlerContext, implement } from '../../module.js';
import { callerOf } from '../access/routes.js';
import type { WebhooksService } from './service.js';

const webhooks = (ctx: HandlerContext<RouteDef>) => ctx.kernel.service<WebhooksService>('webhooks');

/** The webhooks module's admin routes: parse, call the service, answer. */
export const webhooksRouteImplementations = [
  implement(webhooksRoutes.listWebhookEndpoints, (ctx) => webhooks(ctx).listEndpoints(ctx.query, callerOf(ctx))),
  implement(webhooksRoutes.createWebhookEndpoint, (ctx) => webhooks(ctx).createEndpoint(ctx.body, callerOf(ctx))),
  implement(webhooksRoutes.getWebhookEndpoint, (ctx) => webhooks(ctx).getEndpoint(ctx.params.id, callerOf(ctx))),
  implement(webhooksRoutes.updateWebhookEndpoint, (ctx) => webhooks(ctx).updateEndpoint(ctx.params.id, ctx.body, callerOf(ctx))),
  implement(webhooksRoutes.deleteWebhookEndpoint, async (ctx) => {
    await webhooks(ctx).deleteEndpoint(ctx.params.id, callerOf(ctx));
  }),
  implement(webhooksRoutes.rotateWebhookSecret, (ctx) => webhooks(ctx).rotateSecret(ctx.params.id, callerOf(ctx))),
  implement(webhooksRoutes.listWebhookDeliveries, (ctx) => webhooks(ctx).listDeliveries(ctx.params.id, ctx.query, callerOf(ctx))),
  implement(webhooksRoutes.getWebhookDelivery, (ctx) => webhooks(ctx).getDelivery(ctx.params.id, ctx.params.deliveryId, callerOf(ctx))),
  implement(webhooksRoutes.replayWebhookDelivery, (ctx) => webhooks(ctx).replayDelivery(ctx.params.id, ctx.params.deliveryId, callerOf(ctx))),
  implement(webhooksRoutes.replayWebhookDeliveries, (ctx) => webhooks(ctx).replayRange(ctx.params.id, ctx.body, callerOf(ctx))),
];
