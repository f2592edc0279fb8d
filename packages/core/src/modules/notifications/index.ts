import { z } from 'zod';
import { defineModule, type KernelContext, type PermissionDeclaration } from '../../module.js';
import { SEND_JOB, variablesContext } from './delivery.js';
import { notificationsMigrations } from './migrations.js';
import { notificationsRouteImplementations } from './routes.js';
import { createNotificationsService, type NotificationsService } from './service.js';
import { createDevSmsProvider, createHttpSmsProvider, type SmsProvider } from './sms.js';
import { type CategoryDefinition, defaultCategories, defaultTemplates, type TemplateDefinition } from './templates.js';
import { DELIVERY_TABLE } from './types.js';

export const notificationsPermissions = {
  'notifications:read:own': { description: 'Read my in-app notifications and set my notification preferences', grantedTo: ['customer', 'staff'] },
  'notifications:templates': { description: 'Read and edit notification templates (audited)', grantedTo: ['staff'] },
  'notifications:deliveries': { description: 'Read delivery tracking and record provider outcomes', grantedTo: ['staff'] },
} as const satisfies Record<string, PermissionDeclaration>;

export const notificationsEvents = {
  'notification.created': z.object({ id: z.string(), userId: z.string(), template: z.string(), title: z.string() }),
};

const deliveryJob = z.object({ deliveryId: z.string() });
const event = <P extends z.ZodType>(payload: P) => z.object({ id: z.string(), type: z.string(), payload }).passthrough();
const orderEvent = event(z.object({ id: z.string(), userId: z.string().nullable(), total: z.object({ amount: z.number(), currency: z.string() }).optional() }).passthrough());

export interface NotificationsModuleOptions {
  /** Templates by key, merged over the built-in ones (`defaultTemplates`). */
  templates?: Record<string, TemplateDefinition>;
  /** Preference categories, merged over the built-in ones (`defaultCategories`). */
  categories?: Record<string, CategoryDefinition & { defaultEnabled?: boolean }>;
  /** SMS provider; default from config (`notifications.smsTransport`: dev folder or HTTP). */
  smsProvider?: SmsProvider;
  /** Send receipts on `order.paid` and shipping notices on `order.fulfilled` (needs the orders module); default true. */
  orderNotices?: boolean;
}

/** `12.50 EUR` from minor units, with the currency's own decimals. */
function formatMoney(amount: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency });
    return format.format(amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${amount} ${currency}`;
  }
}

async function greetingOf(kernel: KernelContext, userId: string): Promise<string> {
  const user = (await kernel.db.selectFrom('users').select('name').where('id', '=', userId).executeTakeFirst()) as { name: string | null } | undefined;
  return user?.name ? `Hello ${user.name},` : 'Hello,';
}

/**
 * The notifications module: templates, email / SMS / in-app channels, preferences and
 * delivery tracking. Sends happen in jobs, through a circuit breaker per destination.
 */
export function createNotificationsModule(options: NotificationsModuleOptions = {}) {
  const templates = { ...defaultTemplates, ...options.templates };
  const categories = { marketing: { ...defaultCategories.marketing!, defaultEnabled: false }, ...Object.fromEntries(Object.entries(defaultCategories).filter(([k]) => k !== 'marketing')), ...options.categories };
  const orderNotices = options.orderNotices ?? true;
  const service = (kernel: KernelContext) => kernel.service<NotificationsService>('notifications');
  const orderLink = (kernel: KernelContext, id: string) => `${kernel.config.appUrl.replace(/\/+$/, '')}/orders/${id}`;
  return defineModule({
    name: 'notifications',
    dependsOn: ['identity', 'access', 'audit', ...(orderNotices ? ['orders'] : [])],
    migrations: notificationsMigrations,
    // The variables of email and SMS messages (reset links are credentials), rendered at send time.
    encryptedColumns: [{ table: DELIVERY_TABLE, column: 'variables', key: 'id', context: variablesContext }],
    permissions: notificationsPermissions,
    events: notificationsEvents,
    routes: notificationsRouteImplementations,
    jobs: {
      [SEND_JOB]: {
        payload: deliveryJob,
        queue: 'notifications',
        // Send failures are retried by the delivery itself (notifications.maxAttempts); these attempts cover crashes.
        maxAttempts: 5,
        handler: async ({ payload, kernel, signal }) => {
          await service(kernel).attempt(payload.deliveryId, { scheduleRetry: true, signal });
        },
      },
      ...(orderNotices
        ? {
            'notifications.order-paid': {
              payload: orderEvent,
              queue: 'notifications',
              handler: async ({ payload: e, kernel }: { payload: z.output<typeof orderEvent>; kernel: KernelContext }) => {
                if (!e.payload.userId) return;
                const total = e.payload.total ? formatMoney(e.payload.total.amount, e.payload.total.currency) : '';
                await service(kernel).notify({
                  template: 'order.receipt', userId: e.payload.userId, dedupeKey: `event:${e.id}`,
                  variables: { greeting: await greetingOf(kernel, e.payload.userId), orderId: e.payload.id, total, link: orderLink(kernel, e.payload.id) },
                });
              },
            },
            'notifications.order-fulfilled': {
              payload: orderEvent,
              queue: 'notifications',
              handler: async ({ payload: e, kernel }: { payload: z.output<typeof orderEvent>; kernel: KernelContext }) => {
                if (!e.payload.userId) return;
                await service(kernel).notify({
                  template: 'order.shipped', userId: e.payload.userId, dedupeKey: `event:${e.id}`,
                  variables: { greeting: await greetingOf(kernel, e.payload.userId), orderId: e.payload.id, link: orderLink(kernel, e.payload.id) },
                });
              },
            },
          }
        : {}),
    },
    subscribers: orderNotices ? { 'order.paid': 'notifications.order-paid', 'order.fulfilled': 'notifications.order-fulfilled' } : {},
    services: (kernel) => {
      let sms: SmsProvider | undefined = options.smsProvider;
      const c = kernel.config.notifications;
      return createNotificationsService(kernel, {
        templates,
        categories,
        sms: () =>
          (sms ??=
            c.smsTransport === 'http'
              ? createHttpSmsProvider({ url: c.smsUrl!, token: c.smsToken, from: c.smsFrom, timeoutMs: kernel.config.outbound.timeoutMs })
              : createDevSmsProvider(c.smsDevDir, c.smsFrom)),
      });
    },
    onClose: async (kernel) => service(kernel).settled(),
  });
}

/** Notifications with the built-in templates and categories, order receipts and shipping notices. */
export const notificationsModule = createNotificationsModule();

export { createDevSmsProvider, createHttpSmsProvider, SmsProviderError } from './sms.js';
export type { SmsProvider, SmsMessage } from './sms.js';
export { defaultTemplates, defaultCategories, render as renderTemplate, variablesOf } from './templates.js';
export type { TemplateDefinition, TemplateText, CategoryDefinition } from './templates.js';
export type { NotificationsService } from './service.js';
export type { Delivery, InAppNotification, Template, Preference, NotifyInput } from './types.js';
