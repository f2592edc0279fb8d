/**
 * One delivery attempt: sign, POST with undici (timeout, SSRF-guarded connection), log the
 * attempt, then decide in one transaction: succeeded, retry later (the schedule, or the
 * receiver's `Retry-After`), or failed; the endpoint's run of failures, and its disabling
 * (a 410, or `webhooks.disableAfterFailures` in a row) with the admins notified.
 */
import { isIP } from 'node:net';
import { Counter } from 'prom-client';
import { Agent, request } from 'undici';
import type { KernelContext } from '../../module.js';
import { CircuitOpenError } from '../../outbound/circuit-breaker.js';
import { guardedLookup, isPrivateAddress } from '../../outbound/ssrf.js';
import type { NotificationsService } from '../notifications/service.js';
import { endpointSecretContext, webhookHeaders } from './signing.js';
import { ATTEMPTS, DELIVER_JOB, DELIVERIES, type DeliveryRow, ENDPOINTS, type EndpointRow } from './types.js';

export type SendOutcome = 'succeeded' | 'retry' | 'failed' | 'skipped';

interface Answer {
  statusCode: number | null;
  response: string | null;
  error: string | null;
  retryAfterMs: number | null;
  latencyMs: number;
}

/** `Retry-After` as ms: seconds or an HTTP date; capped at a day. */
function retryAfter(value: string | string[] | undefined, now: number): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return null;
  const seconds = Number(raw);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(raw) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 86_400_000) : null;
}

async function readLimited(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    if (text.length < max) text += chunk.toString('utf8');
    if (text.length >= max) break; // leaving the loop destroys the rest of the stream
  }
  return text.slice(0, max);
}

export function createSender(kernel: KernelContext) {
  const cfg = kernel.config.webhooks;
  const agent = new Agent({ connect: { lookup: guardedLookup(cfg.allowPrivate), timeout: cfg.timeoutMs }, headersTimeout: cfg.timeoutMs, bodyTimeout: cfg.timeoutMs });
  const iso = (ms = kernel.clock.now()) => new Date(ms).toISOString();
  const attemptsTotal =
    (kernel.metrics.getSingleMetric('plinth_webhook_attempts_total') as Counter<'outcome'> | undefined) ??
    new Counter({
      name: 'plinth_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome: succeeded; retry (failed, tried again later); failed (failed for good).',
      labelNames: ['outcome'],
      registers: [kernel.metrics],
    });
  const decrypt = (endpoint: EndpointRow, boxed: string) => kernel.secrets.decrypt(boxed, endpointSecretContext(endpoint.id));

  function secretsOf(endpoint: EndpointRow): string[] {
    const secrets = [decrypt(endpoint, endpoint.secret)];
    if (endpoint.previous_secret && endpoint.previous_secret_expires_at && Date.parse(endpoint.previous_secret_expires_at) > kernel.clock.now()) {
      secrets.push(decrypt(endpoint, endpoint.previous_secret));
    }
    return secrets;
  }

  async function post(endpoint: EndpointRow, delivery: DeliveryRow, signal: AbortSignal): Promise<Answer> {
    const url = new URL(endpoint.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!cfg.allowPrivate && isIP(host) && isPrivateAddress(host)) throw new Error(`${host} is a private address; refused`);
    const timestamp = Math.floor(kernel.clock.now() / 1000);
    const started = performance.now();
    const res = await request(url, {
      method: 'POST',
      dispatcher: agent,
      signal,
      headers: { 'content-type': 'application/json', 'user-agent': 'Plinth-Webhooks/1', ...webhookHeaders(secretsOf(endpoint), delivery.id, timestamp, delivery.body) },
      body: delivery.body,
    });
    const response = await readLimited(res.body, cfg.responseMaxChars).catch(() => '');
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return {
      statusCode: res.statusCode,
      response: response || null,
      error: ok ? null : `receiver answered ${res.statusCode}`,
      retryAfterMs: res.statusCode === 429 || res.statusCode === 503 ? retryAfter(res.headers['retry-after'], kernel.clock.now()) : null,
      latencyMs: Math.round(performance.now() - started),
    };
  }

  async function disable(endpoint: EndpointRow, reason: string, now: string): Promise<void> {
    const result = await kernel.db
      .updateTable(ENDPOINTS)
      .set((eb) => ({ enabled: false, disabled_reason: reason, disabled_at: now, updated_at: now, version: eb('version', '+', 1) }))
      .where('id', '=', endpoint.id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return;
    kernel.logger.warn({ endpointId: endpoint.id, reason }, 'webhook endpoint disabled');
    await kernel
      .optionalService<NotificationsService>('notifications')
      ?.notifyAdmins('webhooks.endpoint_disabled', { url: endpoint.url, endpointId: endpoint.id, reason }, `webhook-disabled:${endpoint.id}:${now}`);
  }

  /** Makes one attempt of a pending delivery. Throws `CircuitOpenError` when the endpoint's breaker is open (the job is deferred). */
  async function attempt(deliveryId: string, signal?: AbortSignal): Promise<SendOutcome> {
    const delivery = (await kernel.db.selectFrom(DELIVERIES).selectAll().where('id', '=', deliveryId).executeTakeFirst()) as DeliveryRow | undefined;
    if (!delivery || delivery.status !== 'pending') return 'skipped';
    const endpoint = (await kernel.db.selectFrom(ENDPOINTS).selectAll().where('id', '=', delivery.endpoint_id).executeTakeFirst()) as EndpointRow | undefined;
    if (!endpoint) return 'skipped';
    if (!kernel.storage.fromBoolean(endpoint.enabled)) {
      const now = iso();
      await kernel.db.updateTable(DELIVERIES).set({ status: 'failed', last_error: 'the endpoint is disabled', next_attempt_at: null, updated_at: now }).where('id', '=', deliveryId).where('status', '=', 'pending').execute();
      attemptsTotal.inc({ outcome: 'failed' });
      return 'failed';
    }

    const breaker = kernel.breakers.get(`webhook:${endpoint.id}`, { timeoutMs: cfg.timeoutMs });
    const started = performance.now();
    let answer: Answer;
    try {
      answer = await breaker.call(async (s) => {
        const a = await post(endpoint, delivery, s);
        if (a.error) throw Object.assign(new Error(a.error), { answer: a }); // counts against the breaker
        return a;
      }, signal ? { signal } : {});
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        await kernel.db.updateTable(DELIVERIES).set({ last_error: error.message, next_attempt_at: iso(kernel.clock.now() + error.retryAfterMs), updated_at: iso() }).where('id', '=', deliveryId).where('status', '=', 'pending').execute();
        throw error;
      }
      if (signal?.aborted) throw error;
      const carried = (error as { answer?: Answer }).answer;
      answer = carried ?? {
        statusCode: null, response: null, retryAfterMs: null, latencyMs: Math.round(performance.now() - started),
        error: String((error as Error)?.message ?? error).slice(0, 500),
      };
    }

    const now = kernel.clock.now();
    const at = iso(now);
    const succeeded = answer.error === null;
    const attempts = Number(delivery.attempts) + 1;
    const outcome = await kernel.transaction(async (): Promise<SendOutcome> => {
      const numbered = (await kernel.db.selectFrom(ATTEMPTS).select((eb) => eb.fn.countAll().as('n')).where('delivery_id', '=', deliveryId).executeTakeFirst()) as { n: unknown };
      await kernel.db
        .insertInto(ATTEMPTS)
        .values({ id: kernel.ids.next(), delivery_id: deliveryId, attempt: Number(numbered.n) + 1, status_code: answer.statusCode, latency_ms: answer.latencyMs, response: answer.response, error: answer.error, created_at: at })
        .execute();
      if (succeeded) {
        await kernel.db.updateTable(DELIVERIES).set({ status: 'succeeded', attempts, last_status_code: answer.statusCode, last_error: null, next_attempt_at: null, succeeded_at: at, updated_at: at }).where('id', '=', deliveryId).where('status', '=', 'pending').execute();
        await kernel.db.updateTable(ENDPOINTS).set({ consecutive_failures: 0 }).where('id', '=', endpoint.id).where('consecutive_failures', '!=', 0).execute();
        return 'succeeded';
      }
      await kernel.db.updateTable(ENDPOINTS).set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1) })).where('id', '=', endpoint.id).execute();
      // Read back in the transaction: attempts to one endpoint run in parallel.
      const counted = (await kernel.db.selectFrom(ENDPOINTS).select('consecutive_failures').where('id', '=', endpoint.id).executeTakeFirst()) as { consecutive_failures: number } | undefined;
      const failures = Number(counted?.consecutive_failures ?? Number(endpoint.consecutive_failures) + 1);
      const gone = answer.statusCode === 410;
      if (gone || failures >= cfg.disableAfterFailures) {
        await disable(endpoint, gone ? 'the receiver answered 410 Gone' : `${failures} failed attempts in a row`, at);
      }
      const schedule = cfg.retryScheduleMs;
      const retry = !gone && failures < cfg.disableAfterFailures && attempts <= schedule.length;
      if (!retry) {
        await kernel.db.updateTable(DELIVERIES).set({ status: 'failed', attempts, last_status_code: answer.statusCode, last_error: answer.error, next_attempt_at: null, updated_at: at }).where('id', '=', deliveryId).where('status', '=', 'pending').execute();
        return 'failed';
      }
      const delayMs = Math.max(schedule[attempts - 1]!, answer.retryAfterMs ?? 0);
      await kernel.db
        .updateTable(DELIVERIES)
        .set({ attempts, last_status_code: answer.statusCode, last_error: answer.error, next_attempt_at: iso(now + delayMs), updated_at: at })
        .where('id', '=', deliveryId)
        .where('status', '=', 'pending')
        .execute();
      await kernel.jobs.enqueue(DELIVER_JOB, { deliveryId }, { delayMs, uniqueKey: `webhook:${deliveryId}:${attempts}:${now}` });
      return 'retry';
    });
    attemptsTotal.inc({ outcome });
    return outcome;
  }

  return { attempt, close: () => agent.close() };
}
