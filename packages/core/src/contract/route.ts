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
  /** `json` (default) or `text` (answers `text/plain`, e.g. `/metrics`). */
  responseType?: 'json' | 'text';
  /**
   * Who may call: `required` (default: a signed-in user or an API key),
   * `optional` (credentials are checked when sent), or `public`.
   */
  auth?: 'required' | 'optional' | 'public';
  /** Permission (`resource:action`) the caller must hold, checked before the handler. */
  permission?: string;
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

type Field<K extends string, S> = S extends z.ZodType ? ({} extends z.input<S> ? { [P in K]?: z.input<S> } : { [P in K]: z.input<S> }) : {};

/** What a client sends: only the parts the route declares. */
export type RouteInput<R extends RouteDef> = Field<'params', R['params']> & Field<'query', R['query']> & Field<'body', R['body']>;

export type { In as SchemaInput };
