import type { RouteDef, RouteResponse } from '@plinth/core/contract';
import { errorFromResponse, networkError, PlinthApiError } from './errors.js';
import type { CallArgs, CallOptions, CallRoute, ClientOptions, FetchLike, FetchResponseLike, HeaderValues } from './types.js';
import { fillPath, normalizeBaseUrl, queryString } from './url.js';
import { isRetryable, isTransient, newIdempotencyKey, retryDelay, retryPolicy, sleep } from './retry.js';

/** Default time limit per request. */
export const DEFAULT_TIMEOUT_MS = 30_000;

const PROBLEM = 'application/problem+json';

export interface Transport {
  /** The normalized base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly call: CallRoute;
}

/** Validates the options once and returns the function every client method goes through. */
export function createTransport(options: ClientOptions): Transport {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const origin = new URL(baseUrl).origin;
  const defaultTimeout = checkTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
  const send: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const clientHeaders = options.headers;
  const clientRetry = retryPolicy(options.retry);
  const autoKeys = options.idempotencyKeys ?? true;

  /** One attempt: the answer and its body, or a network error (timeout, abort, no connection). */
  async function sendOnce(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
    callSignal: AbortSignal | undefined,
    requestId: string | undefined,
  ): Promise<[FetchResponseLike, string]> {
    const controller = new AbortController();
    let timedOut = false;
    const timer =
      timeoutMs > 0 && Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            timedOut = true;
            controller.abort(new Error(`Timed out after ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
    const onAbort = () => controller.abort(callSignal?.reason);
    if (callSignal?.aborted) onAbort();
    else callSignal?.addEventListener('abort', onAbort, { once: true });
    try {
      // The body is read under the same timer: a server that stalls mid-answer times out too.
      const response = await send(url, { method, headers, ...(body === undefined ? {} : { body }), signal: controller.signal });
      return [response, await response.text()];
    } catch (error) {
      const kind = timedOut ? 'timeout' : callSignal?.aborted ? 'aborted' : 'error';
      throw networkError(kind, origin, error, requestId, timeoutMs);
    } finally {
      clearTimeout(timer);
      callSignal?.removeEventListener('abort', onAbort);
    }
  }

  async function call<R extends RouteDef>(route: R, ...args: CallArgs<R>): Promise<RouteResponse<R>> {
    const [input, callOptions = {}] = args as [{ params?: unknown; query?: unknown; body?: unknown } | undefined, CallOptions?];
    const url = baseUrl + fillPath(route.path, input?.params) + queryString(input?.query);
    // A streamed route (an export) answers its whole text here.
    const text = route.responseType === 'text' || route.responseType === 'stream';
    const headers: Record<string, string> = {
      accept: route.responseType === 'stream' ? `text/csv, application/jsonl, ${PROBLEM}` : text ? `text/plain, application/json, ${PROBLEM}` : `application/json, ${PROBLEM}`,
    };
    merge(headers, typeof clientHeaders === 'function' ? await clientHeaders() : clientHeaders);
    merge(headers, callOptions.headers);
    if (callOptions.requestId !== undefined) headers['x-request-id'] = callOptions.requestId;
    // Every POST gets a key of its own unless the caller brings one (or says `false`): its retries then replay, never repeat.
    const key = callOptions.idempotencyKey;
    if (key === false) delete headers['idempotency-key'];
    else if (key !== undefined) headers['idempotency-key'] = key;
    else if (route.method === 'POST' && autoKeys && headers['idempotency-key'] === undefined) headers['idempotency-key'] = newIdempotencyKey();
    if (callOptions.ifMatch !== undefined) headers['if-match'] = typeof callOptions.ifMatch === 'number' ? `"${callOptions.ifMatch}"` : callOptions.ifMatch;
    let body: string | undefined;
    if (route.body && input?.body !== undefined) {
      body = JSON.stringify(input.body);
      headers['content-type'] = 'application/json';
    }

    const timeoutMs = callOptions.timeoutMs === undefined ? defaultTimeout : checkTimeout(callOptions.timeoutMs, 'timeoutMs');
    const policy = callOptions.retry === undefined ? clientRetry : retryPolicy(callOptions.retry, clientRetry);
    const retries = isRetryable(route.method, headers) ? policy.retries : 0;
    const callSignal = callOptions.signal;

    let response: FetchResponseLike;
    let answer: string;
    for (let attempt = 0; ; attempt++) {
      let failure: PlinthApiError;
      let retryAfter: string | null = null;
      try {
        [response, answer] = await sendOnce(url, route.method, headers, body, timeoutMs, callSignal, callOptions.requestId);
        if (response.ok) break;
        failure = errorFromResponse(response.status, response.statusText, response.headers, answer);
        retryAfter = response.headers.get('retry-after');
      } catch (error) {
        failure = error as PlinthApiError;
      }
      const delay = attempt < retries && isTransient(failure) ? retryDelay(attempt + 1, policy, retryAfter) : undefined;
      if (delay === undefined) throw failure;
      try {
        await sleep(delay, callSignal);
      } catch (reason) {
        throw networkError('aborted', origin, reason, callOptions.requestId, timeoutMs);
      }
    }

    if (text) return answer as RouteResponse<R>;
    if (response.status === 204 || answer === '') return undefined as RouteResponse<R>;
    try {
      return JSON.parse(answer) as RouteResponse<R>;
    } catch (error) {
      throw new PlinthApiError(
        {
          type: 'about:blank',
          title: 'Malformed response',
          status: response.status,
          code: 'response.malformed',
          detail: `${route.method} ${route.path} answered ${response.status} with a body that is not JSON`,
          ...requestIdOf(response),
        },
        { cause: error },
      );
    }
  }

  return Object.freeze({ baseUrl, call });
}

function merge(target: Record<string, string>, source: HeaderValues | undefined): void {
  if (!source) return;
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined) target[name.toLowerCase()] = value;
  }
}

function checkTimeout(value: number, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new TypeError(`${name} must be a number of milliseconds >= 0, got ${String(value)}`);
  return value;
}

function requestIdOf(response: FetchResponseLike): { requestId?: string } {
  const id = response.headers.get('x-request-id');
  return id === null ? {} : { requestId: id };
}
