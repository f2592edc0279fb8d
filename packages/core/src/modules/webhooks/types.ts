import type { WebhookDeliveryStatus } from '../../contract/webhooks.js';

export const ENDPOINTS = 'webhook_endpoints';
export const DELIVERIES = 'webhook_deliveries';
export const ATTEMPTS = 'webhook_attempts';
export const DELIVER_JOB = 'webhooks.deliver';
export const FAN_OUT_JOB = 'webhooks.fan-out';

export interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  events: string;
  enabled: unknown;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  consecutive_failures: number;
  disabled_reason: string | null;
  disabled_at: string | null;
  created_by: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  body: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  succeeded_at: string | null;
}

export interface AttemptRow {
  id: string;
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  latency_ms: number;
  response: string | null;
  error: string | null;
  created_at: string;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  consecutiveFailures: number;
  previousSecretExpiresAt: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  succeededAt: string | null;
}

export interface WebhookAttempt {
  attempt: number;
  statusCode: number | null;
  latencyMs: number;
  response: string | null;
  error: string | null;
  createdAt: string;
}
