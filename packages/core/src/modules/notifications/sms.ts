import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';

export interface SmsMessage {
  /** E.164 number, e.g. `+14155550123`. */
  to: string;
  text: string;
}

/** Where SMS go: an HTTP provider, the development folder, or your own. */
export interface SmsProvider {
  readonly name: string;
  /** Where messages go, for the circuit breaker and logs (no credentials). */
  readonly destination: string;
  /** Sends one message; answers the provider's id. `signal` aborts on the call's timeout. */
  send(message: SmsMessage, signal: AbortSignal): Promise<{ messageId: string | null }>;
}

/** Development: each message becomes a JSON file in `dir`. */
export function createDevSmsProvider(dir: string, from: string): SmsProvider {
  return {
    name: 'dev',
    destination: 'sms:dev',
    async send(message) {
      mkdirSync(dir, { recursive: true });
      const messageId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
      writeFileSync(join(dir, `${messageId}.json`), `${JSON.stringify({ from, ...message }, null, 2)}\n`, { mode: 0o600 });
      return { messageId };
    },
  };
}

/** A provider answered something else than 2xx. */
export class SmsProviderError extends Error {
  override name = 'SmsProviderError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * A generic HTTP SMS provider (undici): `POST url` with JSON `{ from, to, text }` and
 * `Authorization: Bearer <token>`; a 2xx answer may carry `{ id }` (or `messageId`,
 * `sid`). Other answers fail the send with the status and a short excerpt.
 */
export function createHttpSmsProvider(options: { url: string; token?: string | undefined; from: string; timeoutMs?: number }): SmsProvider {
  const url = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    name: 'http',
    destination: `sms:${url.host}`,
    async send(message, signal) {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        body: JSON.stringify({ from: options.from, to: message.to, text: message.text }),
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = (await res.body.text()).slice(0, 2000);
      if (res.statusCode < 200 || res.statusCode >= 300) throw new SmsProviderError(`SMS provider answered ${res.statusCode}: ${text.slice(0, 200)}`, res.statusCode);
      try {
        const body = JSON.parse(text) as Record<string, unknown>;
        const id = body.id ?? body.messageId ?? body.sid;
        return { messageId: typeof id === 'string' || typeof id === 'number' ? String(id) : null };
      } catch {
        return { messageId: null };
      }
    },
  };
}
