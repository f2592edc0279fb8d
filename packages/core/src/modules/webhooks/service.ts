import { PlinthError } from '../../errors.js';
import type { KernelContext } from '../../module.js';
import { assertPublicUrl } from '../../outbound/ssrf.js';
import type { AuditService } from '../audit/index.js';
import type { Caller } from '../identity/types.js';
import { webhooksError } from './errors.js';
import { createSender } from './sender.js';
import { endpointSecretContext, newWebhookSecret } from './signing.js';
import {
  ATTEMPTS, type AttemptRow, DELIVER_JOB, DELIVERIES, type DeliveryRow, ENDPOINTS, type EndpointRow, type WebhookAttempt, type WebhookDelivery, type WebhookEndpoint,
} from './types.js';

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** An outbox event, as the dispatcher hands it to the fan-out job. */
export interface WebhookEvent {
  id: string;
  type: string;
  payload: unknown;
  createdAt?: string | undefined;
}

export interface EndpointInput {
  url: string;
  events: readonly string[];
  description?: string | undefined;
  enabled?: boolean | undefined;
}

export interface EndpointChanges {
  url?: string | undefined;
  events?: readonly string[] | undefined;
  description?: string | null | undefined;
  enabled?: boolean | undefined;
  version?: number | undefined;
}

/** The webhooks module's services (`kernel.service<WebhooksService>('webhooks')`). */
export interface WebhooksService {
  /** Event types endpoints may subscribe to. */
  readonly eventTypes: readonly string[];
  listEndpoints(query: { limit?: number; cursor?: string | undefined }, caller: Caller): Promise<Page<WebhookEndpoint>>;
  createEndpoint(input: EndpointInput, caller: Caller): Promise<WebhookEndpoint & { secret: string }>;
  getEndpoint(id: string, caller: Caller): Promise<WebhookEndpoint>;
  updateEndpoint(id: string, changes: EndpointChanges, caller: Caller): Promise<WebhookEndpoint>;
  deleteEndpoint(id: string, caller: Caller): Promise<void>;
  /** A new secret; the previous one keeps signing for `webhooks.secretOverlapSeconds`. */
  rotateSecret(id: string, caller: Caller): Promise<WebhookEndpoint & { secret: string }>;
  listDeliveries(endpointId: string, query: { limit?: number; cursor?: string | undefined; status?: string | undefined; eventType?: string | undefined }, caller: Caller): Promise<Page<WebhookDelivery>>;
  getDelivery(endpointId: string, deliveryId: string, caller: Caller): Promise<WebhookDelivery & { payload: unknown; attemptLog: WebhookAttempt[] }>;
  replayDelivery(endpointId: string, deliveryId: string, caller: Caller): Promise<WebhookDelivery>;
  replayRange(endpointId: string, range: { since: string; until?: string | undefined; onlyFailed?: boolean | undefined }, caller: Caller): Promise<{ replayed: number }>;
  /** Makes the deliveries of an event (the fan-out job); a repeated event makes none. */
  fanOut(event: WebhookEvent): Promise<number>;
  /** One attempt of a delivery (the deliver job). */
  attempt(deliveryId: string, signal?: AbortSignal): Promise<'succeeded' | 'retry' | 'failed' | 'skipped'>;
  close(): Promise<void>;
}

const REPLAY_LIMIT = 10_000;

export function createWebhooksService(kernel: KernelContext, eventTypes: readonly string[]): WebhooksService {
  const cfg = kernel.config.webhooks;
  const iso = (ms = kernel.clock.now()) => new Date(ms).toISOString();
  const audit = () => kernel.optionalService<AuditService>('audit');
  const sender = createSender(kernel);
  const seal = (id: string, secret: string) => kernel.secrets.encrypt(secret, endpointSecretContext(id));
  const actorId = (caller: Caller) => (caller.actor?.kind === 'user' ? caller.actor.userId : caller.actor?.kind === 'api_key' ? `api_key:${caller.actor.keyId}` : null);

  const toEndpoint = (r: EndpointRow): WebhookEndpoint => ({
    id: r.id, url: r.url, description: r.description, events: JSON.parse(r.events) as string[], enabled: kernel.storage.fromBoolean(r.enabled),
    disabledReason: r.disabled_reason, disabledAt: r.disabled_at, consecutiveFailures: Number(r.consecutive_failures),
    previousSecretExpiresAt: r.previous_secret_expires_at, version: Number(r.version), createdAt: r.created_at, updatedAt: r.updated_at,
  });
  const toDelivery = (r: DeliveryRow): WebhookDelivery => ({
    id: r.id, endpointId: r.endpoint_id, eventId: r.event_id, eventType: r.event_type, status: r.status, attempts: Number(r.attempts), nextAttemptAt: r.next_attempt_at,
    lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code), lastError: r.last_error, createdAt: r.created_at, updatedAt: r.updated_at, succeededAt: r.succeeded_at,
  });
  const toAttempt = (r: AttemptRow): WebhookAttempt => ({
    attempt: Number(r.attempt), statusCode: r.status_code === null ? null : Number(r.status_code), latencyMs: Number(r.latency_ms), response: r.response, error: r.error, createdAt: r.created_at,
  });

  function checkEvents(events: readonly string[]): string[] {
    const unique = [...new Set(events)];
    const unknown = unique.filter((e) => e !== '*' && !eventTypes.includes(e));
    if (unknown.length) {
      throw webhooksError('webhooks.unknown_event', `Unknown event type${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { details: { unknown, allowed: eventTypes } });
    }
    return unique.includes('*') ? ['*'] : unique;
  }

  async function findEndpoint(id: string, lock = false): Promise<EndpointRow> {
    const q = kernel.db.selectFrom(ENDPOINTS).selectAll().where('id', '=', id);
    const row = (await (lock ? kernel.storage.forUpdate(q) : q).executeTakeFirst()) as EndpointRow | undefined;
    if (!row) throw webhooksError('webhooks.not_found', 'No such webhook endpoint');
    return row;
  }

  async function findDelivery(endpointId: string, deliveryId: string): Promise<DeliveryRow> {
    const row = (await kernel.db.selectFrom(DELIVERIES).selectAll().where('id', '=', deliveryId).where('endpoint_id', '=', endpointId).executeTakeFirst()) as DeliveryRow | undefined;
    if (!row) throw webhooksError('webhooks.not_found', 'No such delivery');
    return row;
  }

  /** Puts a delivery back to pending with a fresh schedule and queues an attempt now (in the current transaction). */
  async function requeue(row: DeliveryRow, tag: string): Promise<void> {
    const now = kernel.clock.now();
    await kernel.db
      .updateTable(DELIVERIES)
      .set({ status: 'pending', attempts: 0, next_attempt_at: iso(now), updated_at: iso(now) })
      .where('id', '=', row.id)
      .execute();
    await kernel.jobs.enqueue(DELIVER_JOB, { deliveryId: row.id }, { uniqueKey: `webhook:${row.id}:${tag}:${now}` });
  }

  async function page<T, R>(q: any, limit: number | undefined, cursor: string | undefined, map: (r: R) => T): Promise<Page<T>> {
    const n = Math.min(Math.max(Math.trunc(limit ?? 20), 1), 100);
    const rows = (await (cursor ? q.where('id', '<', cursor) : q).orderBy('id', 'desc').limit(n + 1).execute()) as (R & { id: string })[];
    const more = rows.length > n;
    const kept = more ? rows.slice(0, n) : rows;
    return { data: kept.map(map), nextCursor: more ? kept[kept.length - 1]!.id : null };
  }

  return {
    eventTypes,

    async listEndpoints(query, caller) {
      await kernel.authorize(caller.actor, 'webhooks:read');
      return page(kernel.db.selectFrom(ENDPOINTS).selectAll(), query.limit, query.cursor, toEndpoint);
    },

    async createEndpoint(input, caller) {
      await kernel.authorize(caller.actor, 'webhooks:write');
      const events = checkEvents(input.events);
      // Resolved before the transaction: DNS can be slow, and a transaction must not wait on it.
      const url = await assertPublicUrl(input.url, cfg.allowPrivate);
      const id = kernel.ids.next();
      const secret = newWebhookSecret();
      const now = iso();
      const row: EndpointRow = {
        id, url: url.href, description: input.description ?? null, events: JSON.stringify(events), enabled: input.enabled ?? true, secret: seal(id, secret),
        previous_secret: null, previous_secret_expires_at: null, consecutive_failures: 0, disabled_reason: input.enabled === false ? 'disabled by an admin' : null,
        disabled_at: input.enabled === false ? now : null, created_by: actorId(caller), version: 1, created_at: now, updated_at: now,
      };
      await kernel.transaction(async () => {
        await kernel.db.insertInto(ENDPOINTS).values(row).execute();
        await audit()?.record(caller, { action: 'webhooks.endpoint.created', target: { type: 'webhook_endpoint', id }, data: { url: row.url, events } });
      });
      return { ...toEndpoint({ ...row, enabled: row.enabled ? 1 : 0 }), secret };
    },

    async getEndpoint(id, caller) {
      await kernel.authorize(caller.actor, 'webhooks:read');
      return toEndpoint(await findEndpoint(id));
    },

    async updateEndpoint(id, changes, caller) {
      await kernel.authorize(caller.actor, 'webhooks:write');
      await findEndpoint(id); // 404 before any DNS work
      const events = changes.events ? checkEvents(changes.events) : undefined;
      const url = changes.url !== undefined ? (await assertPublicUrl(changes.url, cfg.allowPrivate)).href : undefined;
      return kernel.transaction(async () => {
        const row = await findEndpoint(id, true);
        if (changes.version !== undefined && changes.version !== Number(row.version)) {
          throw new PlinthError('resource.version_conflict', `The endpoint changed meanwhile: it is at version ${row.version}`, { details: { version: Number(row.version) } });
        }
        const now = iso();
        const set: Record<string, unknown> = { updated_at: now, version: Number(row.version) + 1 };
        if (url !== undefined) set.url = url;
        if (events) set.events = JSON.stringify(events);
        if (changes.description !== undefined) set.description = changes.description;
        if (changes.enabled === true) Object.assign(set, { enabled: true, disabled_reason: null, disabled_at: null, consecutive_failures: 0 });
        if (changes.enabled === false && kernel.storage.fromBoolean(row.enabled)) Object.assign(set, { enabled: false, disabled_reason: 'disabled by an admin', disabled_at: now });
        await kernel.db.updateTable(ENDPOINTS).set(set).where('id', '=', id).execute();
        if (changes.enabled === true) kernel.breakers.get(`webhook:${id}`).reset();
        await audit()?.record(caller, {
          action: 'webhooks.endpoint.updated', target: { type: 'webhook_endpoint', id },
          data: { changed: Object.keys(changes).filter((k) => k !== 'version' && (changes as Record<string, unknown>)[k] !== undefined) },
        });
        return toEndpoint(await findEndpoint(id));
      });
    },

    async deleteEndpoint(id, caller) {
      await kernel.authorize(caller.actor, 'webhooks:write');
      await kernel.transaction(async () => {
        const row = await findEndpoint(id, true);
        await kernel.db.deleteFrom(ATTEMPTS).where('delivery_id', 'in', kernel.db.selectFrom(DELIVERIES).select('id').where('endpoint_id', '=', id)).execute();
        await kernel.db.deleteFrom(DELIVERIES).where('endpoint_id', '=', id).execute();
        await kernel.db.deleteFrom(ENDPOINTS).where('id', '=', id).execute();
        await audit()?.record(caller, { action: 'webhooks.endpoint.deleted', target: { type: 'webhook_endpoint', id }, data: { url: row.url } });
      });
    },

    async rotateSecret(id, caller) {
      await kernel.authorize(caller.actor, 'webhooks:write');
      const secret = newWebhookSecret();
      return kernel.transaction(async () => {
        const row = await findEndpoint(id, true);
        const now = kernel.clock.now();
        await kernel.db
          .updateTable(ENDPOINTS)
          .set({
            secret: seal(id, secret), previous_secret: row.secret, previous_secret_expires_at: iso(now + cfg.secretOverlapSeconds * 1000),
            updated_at: iso(now), version: Number(row.version) + 1,
          })
          .where('id', '=', id)
          .execute();
        await audit()?.record(caller, { action: 'webhooks.endpoint.secret_rotated', target: { type: 'webhook_endpoint', id }, data: { overlapSeconds: cfg.secretOverlapSeconds } });
        return { ...toEndpoint(await findEndpoint(id)), secret };
      });
    },

    async listDeliveries(endpointId, query, caller) {
      await kernel.authorize(caller.actor, 'webhooks:read');
      await findEndpoint(endpointId);
      let q = kernel.db.selectFrom(DELIVERIES).selectAll().where('endpoint_id', '=', endpointId);
      if (query.status) q = q.where('status', '=', query.status);
      if (query.eventType) q = q.where('event_type', '=', query.eventType);
      return page(q, query.limit, query.cursor, toDelivery);
    },

    async getDelivery(endpointId, deliveryId, caller) {
      await kernel.authorize(caller.actor, 'webhooks:read');
      const row = await findDelivery(endpointId, deliveryId);
      const attempts = (await kernel.db.selectFrom(ATTEMPTS).selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt').execute()) as AttemptRow[];
      return { ...toDelivery(row), payload: JSON.parse(row.body) as unknown, attemptLog: attempts.map(toAttempt) };
    },

    async replayDelivery(endpointId, deliveryId, caller) {
      await kernel.authorize(caller.actor, 'webhooks:write');
      return kernel.transaction(async () => {
        const endpoint = await findEndpoint(endpointId, true);
        if (!kernel.storage.fromBoolean(endpoint.enabled)) throw webhooksError('webhooks.invalid_state', 'The endpoint is disabled: enable it before replaying');
        const row = await findDelivery(endpointId, deliveryId);
        await requeue(row, 'replay');
        await audit()?.record(caller, { action: 'webhooks.delivery.replayed', target: { type: 'webhook_delivery', id: deliveryId }, data: { endpointId } });
        return toDelivery(await findDelivery(endpointId, deliveryId));
      });
    },

    async replayRange(endpointId, range, caller) {
      await kernel.authorize(caller.actor, 'webhooks:write');
      const since = new Date(range.since).toISOString();
      const until = range.until ? new Date(range.until).toISOString() : iso();
      if (since > until) throw new PlinthError('validation.failed', '`since` is after `until`', { errors: [{ path: 'since', message: 'must not be after until', code: 'invalid_range' }] });
      return kernel.transaction(async () => {
        const endpoint = await findEndpoint(endpointId, true);
        if (!kernel.storage.fromBoolean(endpoint.enabled)) throw webhooksError('webhooks.invalid_state', 'The endpoint is disabled: enable it before replaying');
        let q = kernel.db.selectFrom(DELIVERIES).selectAll().where('endpoint_id', '=', endpointId).where('created_at', '>=', since).where('created_at', '<=', until);
        q = range.onlyFailed === false ? q.where('status', '!=', 'pending') : q.where('status', '=', 'failed');
        const rows = (await q.orderBy('id').limit(REPLAY_LIMIT).execute()) as DeliveryRow[];
        for (const row of rows) await requeue(row, 'replay');
        await audit()?.record(caller, { action: 'webhooks.delivery.replayed_range', target: { type: 'webhook_endpoint', id: endpointId }, data: { since, until, replayed: rows.length } });
        return { replayed: rows.length };
      });
    },

    async fanOut(event) {
      const endpoints = (await kernel.db.selectFrom(ENDPOINTS).selectAll().execute()) as EndpointRow[];
      const targets = endpoints.filter((e) => kernel.storage.fromBoolean(e.enabled) && (JSON.parse(e.events) as string[]).some((t) => t === '*' || t === event.type));
      if (!targets.length) return 0;
      const now = iso();
      const body = JSON.stringify({ type: event.type, timestamp: event.createdAt ?? now, data: event.payload });
      return kernel.transaction(async () => {
        let made = 0;
        for (const endpoint of targets) {
          const id = `msg_${kernel.ids.next().replace(/-/g, '')}`;
          const inserted = await kernel.db
            .insertInto(DELIVERIES)
            .values({
              id, endpoint_id: endpoint.id, event_id: event.id, event_type: event.type, body, status: 'pending', attempts: 0, next_attempt_at: now,
              last_status_code: null, last_error: null, created_at: now, updated_at: now, succeeded_at: null,
            })
            .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
            .returning('id')
            .execute();
          if (!inserted.length) continue;
          await kernel.jobs.enqueue(DELIVER_JOB, { deliveryId: id }, { uniqueKey: `webhook:${id}:0` });
          made++;
        }
        return made;
      });
    },

    attempt: (deliveryId, signal) => sender.attempt(deliveryId, signal),
    close: () => sender.close(),
  };
}
