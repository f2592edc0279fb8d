/**
 * Sending one queued email or SMS: render it from its pinned template version, call the
 * channel through its destination's circuit breaker (with a timeout), record the outcome.
 * Runs in jobs (and, for transactional email, once right after the request), never inside
 * a transaction: a slow provider holds no database connection.
 */
import type { KernelContext } from '../../module.js';
import { CircuitOpenError } from '../../outbound/circuit-breaker.js';
import { retryDelayMs } from '../../jobs/backoff.js';
import type { SmsProvider } from './sms.js';
import { render, type TemplateText } from './templates.js';
import { DELIVERY_TABLE, type DeliveryRow } from './types.js';

/** The secret-box context of a delivery's stored `variables`. */
export const variablesContext = (deliveryId: string): string => `notification:${deliveryId}`;

export type AttemptOutcome = 'sent' | 'skipped' | 'retry' | 'failed' | 'deferred';

export interface Sender {
  /** Renders and sends; answers the provider and its message id. */
  send(row: DeliveryRow, text: TemplateText, signal: AbortSignal): Promise<{ provider: string; messageId: string | null }>;
  destination(row: DeliveryRow): string;
}

export const SEND_JOB = 'notifications.send';

const errorText = (error: unknown) => String((error as Error)?.message ?? error).replace(/\b(plv|plp|ple)_[\w-]+/g, '[redacted]').slice(0, 500);

export interface DeliveryDeps {
  kernel: KernelContext;
  sms: () => SmsProvider;
  /** The text of `key`/`channel` at `version` (0: built in). */
  templateText(key: string, channel: DeliveryRow['channel'], version: number): Promise<TemplateText | undefined>;
}

export function createDelivery(deps: DeliveryDeps) {
  const { kernel } = deps;
  const iso = () => new Date(kernel.clock.now()).toISOString();
  const variablesOf = (row: DeliveryRow): Record<string, unknown> =>
    row.variables ? (JSON.parse(kernel.secrets.decrypt(row.variables, variablesContext(row.id))) as Record<string, unknown>) : {};

  const email: Sender = {
    destination: () => `mail:${kernel.mail.destination ?? kernel.mail.name}`,
    async send(row, text) {
      const receipt = await kernel.mail.send({ to: row.recipient, subject: text.subject ?? '', text: text.body, kind: row.template_key });
      return { provider: kernel.mail.name, messageId: receipt?.messageId ?? null };
    },
  };
  const sms: Sender = {
    destination: () => deps.sms().destination,
    async send(row, text, signal) {
      const provider = deps.sms();
      const receipt = await provider.send({ to: row.recipient, text: text.body }, signal);
      return { provider: provider.name, messageId: receipt.messageId };
    },
  };

  /** Records a failed attempt; with `scheduleRetry`, enqueues the next one in the same transaction. */
  async function recordFailure(row: DeliveryRow, error: unknown, scheduleRetry: boolean): Promise<AttemptOutcome> {
    const attempts = Number(row.attempts) + 1;
    const final = attempts >= kernel.config.notifications.maxAttempts;
    await kernel.transaction(async () => {
      const result = await kernel.db
        .updateTable(DELIVERY_TABLE)
        .set({ attempts, error: errorText(error), status: final ? 'failed' : 'queued', updated_at: iso() })
        .where('id', '=', row.id)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      if (!final && scheduleRetry && Number(result.numUpdatedRows) === 1) {
        const delayMs = retryDelayMs({ baseMs: kernel.config.notifications.retryBaseMs, maxMs: 3_600_000 }, attempts);
        await kernel.jobs.enqueue(SEND_JOB, { deliveryId: row.id }, { delayMs, uniqueKey: `notification:${row.id}:${attempts}` });
      }
    });
    kernel.logger.warn({ deliveryId: row.id, channel: row.channel, template: row.template_key, attempts, err: errorText(error) }, final ? 'notification failed for good' : 'notification send failed; will retry');
    return final ? 'failed' : 'retry';
  }

  /**
   * Tries to send a queued delivery once. `scheduleRetry`: on failure, enqueue the next
   * attempt (jobs); an open circuit is then thrown, so the worker defers the job. Without
   * it (the inline try after a request) a failure is recorded and the queued fallback job retries.
   */
  async function attempt(id: string, options: { scheduleRetry: boolean; signal?: AbortSignal }): Promise<AttemptOutcome> {
    const row = (await kernel.db.selectFrom(DELIVERY_TABLE).selectAll().where('id', '=', id).executeTakeFirst()) as DeliveryRow | undefined;
    if (!row || row.status !== 'queued' || row.channel === 'in_app') return 'skipped';
    const sender = row.channel === 'email' ? email : sms;
    const template = await deps.templateText(row.template_key, row.channel, Number(row.template_version));
    if (!template) return recordFailure({ ...row, attempts: kernel.config.notifications.maxAttempts }, new Error(`template ${row.template_key}/${row.channel} v${row.template_version} is gone`), false);
    const variables = variablesOf(row);
    const text: TemplateText = { body: render(template.body, variables), ...(template.subject !== undefined ? { subject: render(template.subject, variables) } : {}) };
    const breaker = kernel.breakers.get(sender.destination(row));
    let receipt: { provider: string; messageId: string | null };
    try {
      receipt = await breaker.call((signal) => sender.send(row, text, signal), options.signal ? { signal: options.signal } : {});
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        await kernel.db.updateTable(DELIVERY_TABLE).set({ error: errorText(error), updated_at: iso() }).where('id', '=', id).where('status', '=', 'queued').execute();
        if (options.scheduleRetry) throw error; // the worker puts the job back until the breaker may probe
        return 'deferred';
      }
      if (options.signal?.aborted) throw error; // a stopping worker: the job runs again
      return recordFailure(row, error, options.scheduleRetry);
    }
    const now = iso();
    await kernel.db
      .updateTable(DELIVERY_TABLE)
      .set({ status: 'sent', provider: receipt.provider, provider_message_id: receipt.messageId, attempts: Number(row.attempts) + 1, error: null, sent_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .execute();
    return 'sent';
  }

  return { attempt };
}
