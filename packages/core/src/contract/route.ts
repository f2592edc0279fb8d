import type { z } from 'zod';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One HTTP route of the API, declared once: the server validates with these
 * schemas, the client SDK is typed from them, `/openapi.json` is generated from them.
 */
export interface RouteDef {
  method: HttpMethod;
  /** Path with `:param` segments, e.g. `/v1/products/:id`. */
  path: string;
  /** Stable name; becomes the OpenAPI operationId and the SDK method name. */
  operationId: string;
  summary: string;
  tags?: readonly string[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
  /** Status of a successful answer; default 200. */
  status?: number;
  /**
   * `json` (default), `text` (answers `text/plain`, e.g. `/metrics`), `stream`: the handler
   * returns a `StreamedBody` whose chunks are written as they come, with backpressure, or
   * `event-stream` (Server-Sent Events: the handler returns an `EventStream`; `response`
   * describes each event's data).
   */
  responseType?: 'json' | 'text' | 'stream' | 'event-stream';
  /**
   * Who may call: `required` (default: a signed-in user or an API key),
   * `optional` (credentials are checked when sent), or `public`.
   */
  auth?: 'required' | 'optional' | 'public';
  /** Permission (`resource:action`) the caller must hold, checked before the handler. */
  permission?: string;
  /**
   * The route takes part in optimistic concurrency: it honours `If-Match: "<version>"` and
   * answers `ETag` (listed in `/openapi.json`); default false. The handler does the check
   * (`expectedVersion`, `updateVersioned` from `@plinth/core`).
   */
  versioned?: boolean;
  /** The handler also gets the body's exact text as `ctx.rawBody` (signed webhooks); default false. */
  rawBody?: boolean;
  /**
   * `transaction`: the handler only works on the database (no calls to the outside world, no
   * long waits), so a POST's `Idempotency-Key` is claimed, the handler run and its answer
   * recorded in one transaction: one commit instead of three, and a key is never left claimed
   * by a crash. A duplicate sent while the first runs waits for its commit and gets the replay
   * (no 409 `idempotency.in_flight`). Default: the key is claimed before, and the answer
   * recorded after, the handler, each in its own statement.
   */
  idempotency?: 'transaction';
}

/** What a `responseType: 'stream'` handler answers: the content type and the chunks, pulled one at a time. */
export interface StreamedBody {
  contentType: string;
  /** Suggested file name (`Content-Disposition: attachment`). */
  filename?: string;
  chunks: AsyncIterable<string>;
}

export function defineRoute<const R extends RouteDef>(route: R): R {
  return route;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
type In<S> = S extends z.ZodType ? z.input<S> : undefined;

/** What a handler receives after validation. */
export type RouteParams<R extends RouteDef> = Out<R['params']>;
export type RouteQuery<R extends RouteDef> = Out<R['query']>;
export type RouteBody<R extends RouteDef> = Out<R['body']>;
/** What a handler returns and a client gets back. */
export type RouteResponse<R extends RouteDef> = z.output<R['response']>;
/** What a handler returns: the response, or a `StreamedBody` on `responseType: 'stream'` routes (clients get its text). */
export type HandlerResponse<R extends RouteDef> = R['responseType'] extends 'stream' ? StreamedBody : RouteResponse<R>;

type Field<K extends string, S> = S extends z.ZodType ? ({} extends z.input<S> ? { [P in K]?: z.input<S> } : { [P in K]: z.input<S> }) : {};

/** What a client sends: only the parts the route declares. */
export type RouteInput<R extends RouteDef> = Field<'params', R['params']> & Field<'query', R['query']> & Field<'body', R['body']>;

export type { In as SchemaInput };
