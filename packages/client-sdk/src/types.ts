/**
 * Terminology
 * - route: a `RouteDef` from `@plinth/core/contract` (method, path, zod schemas).
 * - route table: an object of routes by name (`kernelRoutes`, a module's `routes`).
 * - route client: one method per entry of a route table, typed from its schemas.
 * - input: `{ params?, query?, body? }`, only the parts the route declares.
 */
import type { RouteDef, RouteInput, RouteResponse } from '@plinth/core/contract';
import type { RetryOptions } from './retry.js';

/** Request headers; entries set to `undefined` are not sent. */
export type HeaderValues = Record<string, string | undefined>;

/** What the client needs from `fetch`; the global `fetch`, undici's and test doubles all fit. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<FetchResponseLike>;

export interface FetchResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  /** The body as a stream (event streams read it); fetch implementations have it. */
  readonly body?: ReadableStream<Uint8Array> | null;
}

export interface ClientOptions {
  /** Where the API is, e.g. `https://api.example.com` (a path prefix is kept). Required. */
  baseUrl: string | URL;
  /** The fetch to send with; default `globalThis.fetch` (the `node` entry: undici with a keep-alive agent). */
  fetch?: FetchLike;
  /** Headers for every request, or a function called before each one (a fresh access token); default none. */
  headers?: HeaderValues | (() => HeaderValues | Promise<HeaderValues>);
  /** Time limit per request in ms, answer body included (`0`: none); default 30 000. */
  timeoutMs?: number;
  /**
   * Sending again after a network error, a timeout, 429, 502, 503 or 504, for safe requests and
   * requests with an idempotency key only; `false`: never; default `{ retries: 2, baseDelayMs: 250, maxDelayMs: 10000 }`.
   */
  retry?: RetryOptions | false;
  /** Give every POST a fresh `Idempotency-Key` (so it can be retried safely) unless the call brings one; default true. */
  idempotencyKeys?: boolean;
}

/** Per-call options, the last argument of every client method. */
export interface CallOptions {
  /** Cancels the request (rejects with `network.aborted`); default none. */
  signal?: AbortSignal;
  /** Headers for this call, over the client's; default none. */
  headers?: HeaderValues;
  /** Time limit for this call in ms (`0`: none); default the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Sent as `x-request-id`; the server uses it in its logs and problems; default: the server picks one. */
  requestId?: string;
  /**
   * Sent as `Idempotency-Key` (honoured on every POST): a retry with the same key and body
   * replays the first answer instead of running again; the same key with another body is 422
   * `idempotency.key_reused`, and while the first request runs, 409 `idempotency.in_flight`.
   * Make one key per operation (`crypto.randomUUID()`) and reuse it for that operation's retries
   * (across restarts of your program, too); `false` sends none; default: a new key per POST call,
   * kept for that call's automatic retries.
   */
  idempotencyKey?: string | false;
  /** Retry policy for this call, over the client's; `false`: no retry; default the client's `retry`. */
  retry?: RetryOptions | false;
  /**
   * Sent as `If-Match` on an update: the version it was made from (a number is sent as the
   * strong ETag `"<n>"`); a stale one is 409 `resource.version_conflict`; default none (last write wins).
   */
  ifMatch?: number | string;
}

/** Flattens an intersection so editors show `{ params: {...}; body: {...} }`, not `Field<...> & Field<...>`. */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** A route that declares no input takes none (an empty `{}` would accept anything). */
type NoInput = { params?: never; query?: never; body?: never };

/** What a call of route `R` takes: `{ params, query, body }` as far as the route declares them (zod input types). */
export type CallInput<R extends RouteDef> = keyof RouteInput<R> extends never ? NoInput : Simplify<RouteInput<R>>;

/** The arguments after the route: the input may be left out when nothing in it is required. */
export type CallArgs<R extends RouteDef> = {} extends RouteInput<R>
  ? [input?: CallInput<R>, options?: CallOptions]
  : [input: CallInput<R>, options?: CallOptions];

/**
 * One client method for route `R`. Spelled as two plain signatures (not a rest
 * tuple) so that editors show `(input: { params: { id: string } }, options?) =>
 * Promise<{ ... }>` on hover, rather than the route's zod schemas.
 */
export type RouteMethod<R extends RouteDef> = {} extends RouteInput<R>
  ? (input?: CallInput<R>, options?: CallOptions) => Promise<RouteResponse<R>>
  : (input: CallInput<R>, options?: CallOptions) => Promise<RouteResponse<R>>;

/** Routes by method name. */
export type RouteTable = { readonly [name: string]: RouteDef };

/** One method per route of the table, named by its key, typed from its schemas. */
export type RouteClient<Routes extends RouteTable> = { readonly [K in keyof Routes]: RouteMethod<Routes[K]> };

/** Sends one route; every client method is this with its route bound. */
export type CallRoute = <R extends RouteDef>(route: R, ...args: CallArgs<R>) => Promise<RouteResponse<R>>;
