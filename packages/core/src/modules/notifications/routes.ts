import { notificationsRoutes } from '../../contract/notifications.js';
import { type HandlerContext, implement } from '../../module.js';
import type { RouteDef } from '../../contract/route.js';
import { callerOf } from '../access/routes.js';
import type { NotificationsService } from './service.js';

const notifications = (ctx: HandlerContext<RouteDef>) => ctx.kernel.service<NotificationsService>('notifications');

/** The notifications module's HTTP routes: parse, call the service, answer. */
export const notificationsRouteImplementations = [
  implement(notificationsRoutes.listNotifications, (ctx) =>
    notifications(ctx).listMine(callerOf(ctx), { limit: ctx.query.limit, cursor: ctx.query.cursor, unread: ctx.query.unread === undefined ? undefined : ctx.query.unread === 'true' })),
  implement(notificationsRoutes.markNotificationRead, (ctx) => notifications(ctx).markRead(ctx.params.id, callerOf(ctx))),
  implement(notificationsRoutes.getNotificationPreferences, async (ctx) => ({ data: await notifications(ctx).preferences(callerOf(ctx)) })),
  implement(notificationsRoutes.updateNotificationPreferences, async (ctx) => ({ data: await notifications(ctx).updatePreferences(callerOf(ctx), ctx.body.preferences) })),
  implement(notificationsRoutes.listNotificationTemplates, async (ctx) => ({ data: await notifications(ctx).listTemplates(callerOf(ctx)) })),
  implement(notificationsRoutes.getNotificationTemplateVersions, async (ctx) => ({ data: await notifications(ctx).templateVersions(ctx.params.key, ctx.params.channel, callerOf(ctx)) })),
  implement(notificationsRoutes.updateNotificationTemplate, (ctx) => notifications(ctx).updateTemplate(ctx.params.key, ctx.params.channel, ctx.body, callerOf(ctx))),
  implement(notificationsRoutes.listNotificationDeliveries, (ctx) => notifications(ctx).listDeliveries(ctx.query, callerOf(ctx))),
  implement(notificationsRoutes.recordDeliveryOutcome, (ctx) => notifications(ctx).recordOutcome(ctx.params.id, ctx.body, callerOf(ctx))),
];
