/**
 * When and how long the client waits before sending a request again.
 *
 * A request is sent again only when doing so cannot do something twice: safe
 * methods (GET, HEAD, OPTIONS), and any request that carries an
 * `Idempotency-Key` (the server replays the first answer for a repeated key).
 * It is sent again after a network failure or a timeout, and on 429, 502, 503
 * and 504 (and 409 `idempotency.in_flight`: the first attempt is still running).
 */
import type { PlinthApiError } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first one; `0` turns retrying off; default 2. */
  retries?: number;
  /** Backoff before the first retry in ms; doubles on every retry, with jitter; default 250. */
  baseDelayMs?: number;
  /** The longest wait between attempts in ms; a longer `Retry-After` is not waited for (the error is thrown); default 10 000. */
  maxDelayMs?: number;
}

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({ retries: 2, baseDelayMs: 250, maxDelayMs: 10_000 });

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const RETRY_STATUSES = new Set([429, 502, 503, 504]);

/** Checks retry options once (at the edge) and fills in the defaults. */
export function retryPolicy(options: RetryOptions | false | undefined, fallback: Readonly<RetryPolicy> = DEFAULT_RETRY): RetryPolicy {
  if (options === false) return { ...fallback, retries: 0 };
  const policy = { ...fallback, ...stripUndefined(options ?? {}) };
  for (const key of ['retries', 'baseDelayMs', 'maxDelayMs'] as const) {
    const value = policy[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`retry.${key} must be a finite number >= 0, got ${String(value)}`);
  }
  if (!Number.isInteger(policy.retries)) throw new TypeError(`retry.retries must be an integer, got ${policy.retries}`);
  return policy;
}

/** May a request with this method and these headers be sent again without risk of running twice? */
export function isRetryable(method: string, headers: Record<string, string>): boolean {
  return SAFE_METHODS.has(method) || headers['idempotency-key'] !== undefined;
}

/** Is this failure worth another attempt (the request being retryable)? */
export function isTransient(error: PlinthApiError): boolean {
  if (error.code === 'network.error' || error.code === 'network.timeout') return true;
  if (error.code === 'idempotency.in_flight') return true;
  return RETRY_STATUSES.has(error.status);
}

/**
 * How long to wait before retry number `retry` (1 for the first): the server's
 * `Retry-After` when it sent one, else exponential backoff with "equal jitter"
 * (half the step fixed, half random, so clients spread out but never hammer).
 * `undefined`: the server asks for a longer wait than `maxDelayMs`; do not retry.
 */
export function retryDelay(retry: number, policy: RetryPolicy, retryAfter: string | null | undefined, now = Date.now(), random = Math.random): number | undefined {
  const asked = parseRetryAfter(retryAfter, now);
  if (asked !== undefined) return asked <= policy.maxDelayMs ? asked : undefined;
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** `Retry-After` as ms from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3); `undefined` when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Waits `ms`, or rejects at once with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A random idempotency key (UUID v4) from the platform's CSPRNG (browsers and Node). */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  // randomUUID is missing on insecure (http:) browser origins; getRandomValues is not.
  const bytes = c.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
