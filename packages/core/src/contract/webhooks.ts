import { z } from 'zod';
import { listOf, pageQuery } from './identity.js';
import { defineRoute } from './route.js';

export const webhooksErrors = {
  'webhooks.not_found': 404,
  'webhooks.url_not_allowed': 422,
  'webhooks.unknown_event': 422,
  'webhooks.invalid_state': 409,
} as const;
export type WebhooksErrorCode = keyof typeof webhooksErrors;

/** pending (waiting for an attempt or a retry) → succeeded | failed (retries used up, or the endpoint was disabled). */
export const webhookDeliveryStatuses = ['pending', 'succeeded', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number];

const id = z.string().min(1).max(64);
const eventType = z.string().regex(/^(\*|[a-z][a-z0-9_.-]{0,99})$/, 'must be an event type such as order.paid, or *');

export const webhookEndpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  /** Event types sent to it; `*` for all. */
  events: z.array(z.string()),
  enabled: z.boolean(),
  /** Why it was disabled (by an admin, or automatically after failures or a 410). */
  disabledReason: z.string().nullable(),
  disabledAt: z.string().nullable(),
  /** Failed attempts in a row; reaching `webhooks.disableAfterFailures` disables it. */
  consecutiveFailures: z.number().int(),
  /** Until when the previous secret still signs (after a rotation). */
  previousSecretExpiresAt: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Answered once, at creation and on rotation: the signing secret (`whsec_` + base64). */
export const webhookEndpointWithSecretSchema = webhookEndpointSchema.extend({ secret: z.string() });

export const webhookAttemptSchema = z.object({
  attempt: z.number().int(),
  /** The receiver's HTTP status; null when there was no answer (timeout, refused). */
  statusCode: z.number().int().nullable(),
  latencyMs: z.number().int(),
  /** The start of the receiver's answer, truncated. */
  response: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
});

export const webhookDeliverySchema = z.object({
  id: z.string(),
  endpointId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(webhookDeliveryStatuses),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  succeededAt: z.string().nullable(),
});

export const webhookDeliveryDetailSchema = webhookDeliverySchema.extend({ payload: z.unknown(), attemptLog: z.array(webhookAttemptSchema) });

const url = z.string().trim().min(1).max(2000);
const events = z.array(eventType).min(1).max(100);
const description = z.string().trim().max(500);

export const webhooksRoutes = {
  listWebhookEndpoints: defineRoute({
    method: 'GET', path: '/v1/webhook-endpoints', operationId: 'listWebhookEndpoints', summary: 'Webhook endpoints, newest first.', tags: ['webhooks'], permission: 'webhooks:read',
    query: pageQuery, response: listOf(webhookEndpointSchema),
  }),
  createWebhookEndpoint: defineRoute({
    method: 'POST', path: '/v1/webhook-endpoints', operationId: 'createWebhookEndpoint', summary: 'Register an endpoint; answers its signing secret once.', tags: ['webhooks'], permission: 'webhooks:write',
    status: 201,
    body: z.object({ url, events, description: description.optional(), enabled: z.boolean().optional() }).strict(),
    response: webhookEndpointWithSecretSchema,
  }),
  getWebhookEndpoint: defineRoute({
    method: 'GET', path: '/v1/webhook-endpoints/:id', operationId: 'getWebhookEndpoint', summary: 'One endpoint (without its secret).', tags: ['webhooks'], permission: 'webhooks:read',
    params: z.object({ id }), response: webhookEndpointSchema,
  }),
  updateWebhookEndpoint: defineRoute({
    method: 'PATCH', path: '/v1/webhook-endpoints/:id', operationId: 'updateWebhookEndpoint', summary: 'Change URL, events, description; enable or disable.', tags: ['webhooks'], permission: 'webhooks:write',
    params: z.object({ id }),
    body: z.object({ url: url.optional(), events: events.optional(), description: description.nullable().optional(), enabled: z.boolean().optional(), version: z.number().int().min(1).optional() }).strict(),
    response: webhookEndpointSchema,
  }),
  deleteWebhookEndpoint: defineRoute({
    method: 'DELETE', path: '/v1/webhook-endpoints/:id', operationId: 'deleteWebhookEndpoint', summary: 'Remove an endpoint and its delivery log.', tags: ['webhooks'], permission: 'webhooks:write',
    status: 204, params: z.object({ id }), response: z.unknown(),
  }),
  rotateWebhookSecret: defineRoute({
    method: 'POST', path: '/v1/webhook-endpoints/:id/rotate-secret', operationId: 'rotateWebhookSecret', summary: 'New signing secret; the old one still signs during the overlap.', tags: ['webhooks'], permission: 'webhooks:write',
    params: z.object({ id }), response: webhookEndpointWithSecretSchema,
  }),
  listWebhookDeliveries: defineRoute({
    method: 'GET', path: '/v1/webhook-endpoints/:id/deliveries', operationId: 'listWebhookDeliveries', summary: 'Deliveries to an endpoint, newest first.', tags: ['webhooks'], permission: 'webhooks:read',
    params: z.object({ id }),
    query: pageQuery.extend({ status: z.enum(webhookDeliveryStatuses).optional(), eventType: eventType.optional() }),
    response: listOf(webhookDeliverySchema),
  }),
  getWebhookDelivery: defineRoute({
    method: 'GET', path: '/v1/webhook-endpoints/:id/deliveries/:deliveryId', operationId: 'getWebhookDelivery', summary: 'One delivery with its payload and every attempt.', tags: ['webhooks'], permission: 'webhooks:read',
    params: z.object({ id, deliveryId: id }), response: webhookDeliveryDetailSchema,
  }),
  replayWebhookDelivery: defineRoute({
    method: 'POST', path: '/v1/webhook-endpoints/:id/deliveries/:deliveryId/replay', operationId: 'replayWebhookDelivery', summary: 'Send one delivery again now (audited).', tags: ['webhooks'], permission: 'webhooks:write',
    status: 202, params: z.object({ id, deliveryId: id }), response: webhookDeliverySchema,
  }),
  replayWebhookDeliveries: defineRoute({
    method: 'POST', path: '/v1/webhook-endpoints/:id/replay', operationId: 'replayWebhookDeliveries', summary: 'Send again the deliveries made in a time range (failed ones only by default; audited).', tags: ['webhooks'], permission: 'webhooks:write',
    status: 202, params: z.object({ id }),
    body: z.object({ since: z.iso.datetime({ offset: true }), until: z.iso.datetime({ offset: true }).optional(), onlyFailed: z.boolean().optional() }).strict(),
    response: z.object({ replayed: z.number().int() }),
  }),
} as const;
