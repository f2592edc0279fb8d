import { z } from 'zod';
import { listOf, pageQuery } from './identity.js';
import { defineRoute } from './route.js';

export const notificationsErrors = {
  'notifications.not_found': 404,
  'notifications.unknown_template': 404,
  'notifications.unknown_variable': 422,
  'notifications.unknown_category': 422,
  'notifications.not_opt_outable': 422,
  'notifications.no_recipient': 422,
  'notifications.invalid_state': 409,
} as const;
export type NotificationsErrorCode = keyof typeof notificationsErrors;

export const notificationChannels = ['email', 'sms', 'in_app'] as const;
export type NotificationChannel = (typeof notificationChannels)[number];

/** queued → sent → delivered; or failed (retries used up) / bounced (the provider said so later). In-app ones are delivered at once. */
export const deliveryStatuses = ['queued', 'sent', 'delivered', 'failed', 'bounced'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

const id = z.string().min(1).max(64);
const templateKey = z.string().regex(/^[a-z][a-z0-9_.-]{0,99}$/, 'must be a lower-case template key such as order.receipt');
const channel = z.enum(notificationChannels);

/** An in-app notification as its recipient sees it. */
export const notificationSchema = z.object({
  id: z.string(),
  template: z.string(),
  category: z.string(),
  title: z.string(),
  body: z.string(),
  read: z.boolean(),
  readAt: z.string().nullable(),
  createdAt: z.string(),
});

export const deliverySchema = z.object({
  id: z.string(),
  userId: z.string().nullable(),
  channel,
  template: z.string(),
  templateVersion: z.number().int(),
  category: z.string(),
  /** Address, phone number or user id, as sent. */
  recipient: z.string(),
  status: z.enum(deliveryStatuses),
  provider: z.string().nullable(),
  providerMessageId: z.string().nullable(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  sentAt: z.string().nullable(),
});

export const templateSchema = z.object({
  key: z.string(),
  channel,
  /** 0 is the built-in text; staff edits make 1, 2, ... (the highest is used). */
  version: z.number().int(),
  category: z.string(),
  transactional: z.boolean(),
  subject: z.string().nullable(),
  body: z.string(),
  /** The `{{variables}}` the template may use. */
  variables: z.array(z.string()),
  updatedBy: z.string().nullable(),
  createdAt: z.string().nullable(),
});

export const preferenceSchema = z.object({
  category: z.string(),
  channel,
  enabled: z.boolean(),
  /** Transactional categories (account, receipts) cannot be turned off. */
  transactional: z.boolean(),
});

export const notificationsRoutes = {
  listNotifications: defineRoute({
    method: 'GET', path: '/v1/notifications', operationId: 'listNotifications', summary: 'My in-app notifications, newest first.', tags: ['notifications'],
    permission: 'notifications:read:own',
    query: pageQuery.extend({ unread: z.enum(['true', 'false']).optional() }),
    response: listOf(notificationSchema),
  }),
  markNotificationRead: defineRoute({
    method: 'POST', path: '/v1/notifications/:id/read', operationId: 'markNotificationRead', summary: 'Mark one of my notifications read.', tags: ['notifications'],
    permission: 'notifications:read:own',
    params: z.object({ id }), response: notificationSchema,
  }),
  getNotificationPreferences: defineRoute({
    method: 'GET', path: '/v1/me/notification-preferences', operationId: 'getNotificationPreferences', summary: 'My notification preferences per category and channel.', tags: ['notifications'],
    permission: 'notifications:read:own',
    response: z.object({ data: z.array(preferenceSchema) }),
  }),
  updateNotificationPreferences: defineRoute({
    method: 'PUT', path: '/v1/me/notification-preferences', operationId: 'updateNotificationPreferences', summary: 'Opt in or out of categories per channel.', tags: ['notifications'],
    permission: 'notifications:read:own',
    body: z.object({ preferences: z.array(z.object({ category: z.string().min(1).max(64), channel, enabled: z.boolean() }).strict()).min(1).max(100) }).strict(),
    response: z.object({ data: z.array(preferenceSchema) }),
  }),
  listNotificationTemplates: defineRoute({
    method: 'GET', path: '/v1/notification-templates', operationId: 'listNotificationTemplates', summary: 'The current version of every template.', tags: ['notifications'],
    permission: 'notifications:templates',
    response: z.object({ data: z.array(templateSchema) }),
  }),
  getNotificationTemplateVersions: defineRoute({
    method: 'GET', path: '/v1/notification-templates/:key/:channel', operationId: 'getNotificationTemplateVersions', summary: 'Every version of one template, newest first.', tags: ['notifications'],
    permission: 'notifications:templates',
    params: z.object({ key: templateKey, channel }),
    response: z.object({ data: z.array(templateSchema) }),
  }),
  updateNotificationTemplate: defineRoute({
    method: 'PUT', path: '/v1/notification-templates/:key/:channel', operationId: 'updateNotificationTemplate', summary: 'Save a new version of a template (audited).', tags: ['notifications'],
    permission: 'notifications:templates',
    params: z.object({ key: templateKey, channel }),
    body: z.object({
      subject: z.string().trim().min(1).max(300).optional(),
      body: z.string().min(1).max(20_000),
      /** The version this edit is based on: 409 when someone saved another meanwhile. */
      baseVersion: z.number().int().min(0).optional(),
    }).strict(),
    response: templateSchema,
  }),
  listNotificationDeliveries: defineRoute({
    method: 'GET', path: '/v1/notification-deliveries', operationId: 'listNotificationDeliveries', summary: 'Delivery tracking, newest first.', tags: ['notifications'],
    permission: 'notifications:deliveries',
    query: pageQuery.extend({ status: z.enum(deliveryStatuses).optional(), channel: channel.optional(), userId: id.optional() }),
    response: listOf(deliverySchema),
  }),
  recordDeliveryOutcome: defineRoute({
    method: 'POST', path: '/v1/notification-deliveries/:id/outcome', operationId: 'recordDeliveryOutcome', summary: 'Record what the provider reported later: delivered or bounced.', tags: ['notifications'],
    permission: 'notifications:deliveries',
    params: z.object({ id }),
    body: z.object({ status: z.enum(['delivered', 'bounced', 'failed']), reason: z.string().max(500).optional() }).strict(),
    response: deliverySchema,
  }),
} as const;
