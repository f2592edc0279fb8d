import { z } from 'zod';
import { defineModule, type KernelContext, type PermissionDeclaration } from '../../module.js';
import { webhooksMigrations } from './migrations.js';
import { webhooksRouteImplementations } from './routes.js';
import { createWebhooksService, type WebhooksService } from './service.js';
import { endpointSecretContext } from './signing.js';
import { DELIVER_JOB, ENDPOINTS, FAN_OUT_JOB } from './types.js';

export const webhooksPermissions = {
  'webhooks:read': { description: 'Read webhook endpoints, deliveries and their attempt logs', grantedTo: ['staff'] },
  'webhooks:write': { description: 'Register, change, rotate, delete webhook endpoints and replay deliveries (audited)' },
} as const satisfies Record<string, PermissionDeclaration>;

/** The built-in events endpoints may subscribe to. */
export const defaultWebhookEvents = [
  'order.created', 'order.paid', 'order.cancelled', 'order.expired', 'order.fulfilled', 'order.refunded', 'payment.succeeded', 'payment.failed',
] as const;

export interface WebhooksModuleOptions {
  /** Outbox event types sent to endpoints; default the order and payment events (`defaultWebhookEvents`). */
  events?: readonly string[];
  /** Modules that declare those events, loaded first; default `['orders', 'payments']`. */
  eventModules?: readonly string[];
}

const service = (kernel: KernelContext) => kernel.service<WebhooksService>('webhooks');
const eventPayload = z.object({ id: z.string(), type: z.string(), payload: z.unknown(), createdAt: z.string().optional() }).passthrough();

/**
 * Outbound webhooks: endpoints registered by admins get the events they subscribe to,
 * signed per Standard Webhooks, retried on a schedule, with every attempt logged.
 */
export function createWebhooksModule(options: WebhooksModuleOptions = {}) {
  const events = [...(options.events ?? defaultWebhookEvents)];
  return defineModule({
    name: 'webhooks',
    dependsOn: ['identity', 'access', 'audit', 'notifications', ...(options.eventModules ?? ['orders', 'payments'])],
    migrations: webhooksMigrations,
    // Signing secrets are encrypted, not hashed: they must be read back to sign each delivery.
    encryptedColumns: [
      { table: ENDPOINTS, column: 'secret', key: 'id', context: endpointSecretContext },
      { table: ENDPOINTS, column: 'previous_secret', key: 'id', context: endpointSecretContext },
    ],
    permissions: webhooksPermissions,
    routes: webhooksRouteImplementations,
    jobs: {
      [FAN_OUT_JOB]: {
        payload: eventPayload,
        queue: 'webhooks',
        handler: async ({ payload, kernel }) => {
          await service(kernel).fanOut(payload);
        },
      },
      [DELIVER_JOB]: {
        payload: z.object({ deliveryId: z.string() }),
        queue: 'webhooks',
        // Failed sends are retried on the webhook schedule by the delivery itself; these attempts cover crashes.
        maxAttempts: 5,
        handler: async ({ payload, kernel, signal }) => {
          await service(kernel).attempt(payload.deliveryId, signal);
        },
      },
    },
    subscribers: Object.fromEntries(events.map((type) => [type, FAN_OUT_JOB])),
    services: (kernel) => createWebhooksService(kernel, events),
    onClose: async (kernel) => service(kernel).close(),
  });
}

export const webhooksModule = createWebhooksModule();

export { newWebhookSecret, sign as signWebhook, webhookHeaders } from './signing.js';
export type { WebhooksService, WebhookEvent, EndpointInput, EndpointChanges } from './service.js';
export type { WebhookEndpoint, WebhookDelivery, WebhookAttempt } from './types.js';
