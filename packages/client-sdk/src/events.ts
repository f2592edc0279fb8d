/**
 * `client.events`: Server-Sent Events from `GET /v1/events`, over `fetch` streaming (undici in
 * Node, the browser's fetch elsewhere), with automatic reconnects that resume after the last
 * event received (`Last-Event-ID`), so nothing is missed and nothing is repeated.
 */
import type { RealtimeEvent } from '@plinth/core/contract';
import { errorFromResponse, networkError, type PlinthApiError } from './errors.js';
import type { FetchLike, HeaderValues } from './types.js';

/** Built-in topic names; modules may add more. */
export type TopicName = 'orders' | 'notifications' | (string & {});

export interface SubscribeInput {
  /** Topics to follow, e.g. `['orders']`. */
  topics: readonly TopicName[];
  /** Resume after this event id (e.g. one saved before a page reload); default: events from now on. */
  lastEventId?: string;
  /** Ends the subscription. */
  signal?: AbortSignal;
}

/** Sent by the server before the events when a resume could not be gapless (events were pruned, or the id is unknown). */
export interface ResetNotice {
  reason: 'expired' | 'unknown_id';
  resumedAfter: string;
}

export interface SubscribeHandlers {
  /** The stream is open (again). */
  onOpen?: () => void;
  /** A connection failed or dropped; `willRetry` false means the subscription has ended (e.g. 403). */
  onError?: (error: PlinthApiError, info: { willRetry: boolean; delayMs: number }) => void;
  /** Events were missed and cannot be replayed: refetch what you show. */
  onReset?: (notice: ResetNotice) => void;
}

export interface ReconnectOptions {
  /** First delay before reconnecting, in ms (the server's `retry:` advice wins); default 1000. */
  initialDelayMs?: number;
  /** Longest delay between attempts, in ms; default 30 000. */
  maxDelayMs?: number;
}

export interface Subscription {
  /** Id of the last event received (what a reconnect resumes after). */
  readonly lastEventId: string | undefined;
  /** Stops for good: closes the connection, no reconnect. */
  close(): void;
  /** Resolves when the subscription has ended (closed, aborted or refused). */
  readonly done: Promise<void>;
}

export interface EventsClient {
  /**
   * Follows topics, calling `onEvent` for each event in order. Reconnects by itself with a growing
   * delay (and resumes after the last event), refreshes an expired access token once per attempt;
   * ends on `close()`, the signal, or a refusal (401 after refresh, 403, 4xx).
   */
  subscribe(input: SubscribeInput, onEvent: (event: RealtimeEvent) => void, handlers?: SubscribeHandlers & ReconnectOptions): Subscription;
  /** The same as an async iterator: `for await (const event of client.events.stream({ topics }))`; `break` closes it. */
  stream(input: SubscribeInput, options?: ReconnectOptions & Pick<SubscribeHandlers, 'onReset'>): AsyncIterableIterator<RealtimeEvent>;
}

export interface EventsDeps {
  baseUrl: string;
  fetch: FetchLike;
  /** Auth (and client) headers, per attempt. */
  headers: () => Promise<HeaderValues>;
  /** Gets a fresh access token after a 401; answers whether it could. */
  refresh: () => Promise<boolean>;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

export function createEventsClient(deps: EventsDeps): EventsClient {
  const origin = new URL(deps.baseUrl).origin;

  function subscribe(input: SubscribeInput, onEvent: (event: RealtimeEvent) => void, handlers: SubscribeHandlers & ReconnectOptions = {}): Subscription {
    if (!Array.isArray(input?.topics) || input.topics.length === 0) throw new TypeError('subscribe needs at least one topic');
    const initialDelay = handlers.initialDelayMs ?? 1000;
    const maxDelay = handlers.maxDelayMs ?? 30_000;
    const controller = new AbortController();
    const stop = () => controller.abort();
    if (input.signal?.aborted) stop();
    else input.signal?.addEventListener('abort', stop, { once: true });
    let lastEventId = input.lastEventId;
    let serverRetry: number | undefined;

    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          controller.signal.removeEventListener('abort', done);
          resolve();
        }
        controller.signal.addEventListener('abort', done, { once: true });
      });

    /** One connection: resolves when it ends; throws the error that ended it. */
    async function connect(): Promise<'ended' | 'unauthorized'> {
      const query = `topics=${encodeURIComponent(input.topics.join(','))}`;
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      for (const [name, value] of Object.entries(await deps.headers())) if (value !== undefined) headers[name.toLowerCase()] = value;
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      let response;
      try {
        response = await deps.fetch(`${deps.baseUrl}/v1/events?${query}`, { method: 'GET', headers, signal: controller.signal });
      } catch (error) {
        throw networkError(controller.signal.aborted ? 'aborted' : 'error', origin, error, undefined, 0);
      }
      if (response.status === 401) {
        await response.text().catch(() => '');
        return 'unauthorized';
      }
      if (!response.ok) throw errorFromResponse(response.status, response.statusText, response.headers, await response.text().catch(() => ''));
      const body = response.body;
      if (!body) throw errorFromResponse(502, 'No body', response.headers, '');
      handlers.onOpen?.();
      const parser = createSseParser((message) => {
        if (message.retry !== undefined) serverRetry = message.retry;
        if (message.data === undefined) return;
        if (message.event === 'reset') {
          handlers.onReset?.(JSON.parse(message.data) as ResetNotice);
          return;
        }
        const event = JSON.parse(message.data) as RealtimeEvent;
        if (message.id !== undefined) lastEventId = message.id;
        onEvent(event);
      });
      const reader = body.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(decoder.decode(value, { stream: true }));
        }
      } catch (error) {
        if (!controller.signal.aborted) throw networkError('error', origin, error, undefined, 0);
      } finally {
        reader.releaseLock?.();
      }
      return 'ended';
    }

    const done = (async () => {
      let failures = 0;
      while (!controller.signal.aborted) {
        let error: PlinthApiError | undefined;
        try {
          const outcome = await connect();
          if (outcome === 'unauthorized') {
            // An expired access token: refresh once, then try again at once.
            if (await deps.refresh().catch(() => false)) {
              const again = await connect();
              if (again !== 'unauthorized') {
                failures = 0;
                continue;
              }
            }
            handlers.onError?.(errorFromResponse(401, 'Unauthorized', { get: () => null }, ''), { willRetry: false, delayMs: 0 });
            return;
          }
          failures = 0; // the server ended a healthy stream (shutdown, credentials check): reconnect soon
        } catch (caught) {
          if (controller.signal.aborted) return;
          error = caught as PlinthApiError;
          const retryable = error.status === 0 || RETRYABLE.has(error.status);
          if (!retryable) {
            handlers.onError?.(error, { willRetry: false, delayMs: 0 });
            return;
          }
          failures++;
        }
        if (controller.signal.aborted) return;
        const base = Math.min(maxDelay, (serverRetry ?? initialDelay) * 2 ** Math.max(0, failures - 1));
        const delayMs = Math.round(failures === 0 ? base : base / 2 + Math.random() * (base / 2));
        if (error) handlers.onError?.(error, { willRetry: true, delayMs });
        await sleep(delayMs);
      }
    })().finally(() => input.signal?.removeEventListener('abort', stop));

    return {
      get lastEventId() {
        return lastEventId;
      },
      close: stop,
      done,
    };
  }

  function stream(input: SubscribeInput, options: ReconnectOptions & Pick<SubscribeHandlers, 'onReset'> = {}): AsyncIterableIterator<RealtimeEvent> {
    const queue: RealtimeEvent[] = [];
    let wake: (() => void) | undefined;
    let failure: PlinthApiError | undefined;
    let finished = false;
    const subscription = subscribe(
      input,
      (event) => {
        queue.push(event);
        wake?.();
      },
      {
        ...options,
        onError: (error, { willRetry }) => {
          if (!willRetry) failure = error;
        },
      },
    );
    void subscription.done.then(() => {
      finished = true;
      wake?.();
    });
    const iterator: AsyncIterableIterator<RealtimeEvent> = {
      async next() {
        for (;;) {
          const event = queue.shift();
          if (event) return { value: event, done: false };
          if (failure) {
            const error = failure;
            failure = undefined;
            subscription.close();
            throw error;
          }
          if (finished) return { value: undefined, done: true };
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
      async return() {
        subscription.close();
        await subscription.done;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  return Object.freeze({ subscribe, stream });
}

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
}

/** The `text/event-stream` parser of the HTML standard: fields, multi-line data, CR/LF/CRLF line ends. */
export function createSseParser(onMessage: (message: SseMessage) => void): { push(chunk: string): void } {
  let buffer = '';
  let data: string[] = [];
  let event: string | undefined;
  let id: string | undefined;
  let sawCr = false;
  const line = (text: string) => {
    if (text === '') {
      if (data.length || id !== undefined) onMessage({ ...(id === undefined ? {} : { id }), ...(event === undefined ? {} : { event }), ...(data.length ? { data: data.join('\n') } : {}) });
      data = [];
      event = undefined;
      id = undefined;
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) onMessage({ retry: Number(value) });
  };
  return {
    push(chunk) {
      let text = buffer + chunk;
      if (sawCr && text.startsWith('\n')) text = text.slice(1);
      sawCr = false;
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        line(text.slice(start, i));
        if (c === 13) {
          if (i + 1 === text.length) sawCr = true;
          else if (text.charCodeAt(i + 1) === 10) i++;
        }
        start = i + 1;
      }
      buffer = text.slice(start);
    },
  };
}
