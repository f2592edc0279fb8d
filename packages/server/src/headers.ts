/** Security headers for a JSON API; every response carries them. */
export const securityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
});

/**
 * Response headers as the flat `[name, value, name, value, ...]` list that
 * `res.writeHead` takes: copying a list of constants is cheaper than spreading
 * an object per response. Names are lower-case.
 */
export type HeaderList = (string | number)[];

// Not frozen: V8 copies a frozen array about ten times slower.
const securityList: readonly string[] = Object.entries(securityHeaders).flat();

/** What every response starts with: the security headers, the request id and the trace context. */
export function baseHeaders(requestId: string, traceparent: string): HeaderList {
  const list: HeaderList = securityList.slice();
  list.push('x-request-id', requestId, 'traceparent', traceparent);
  return list;
}

/** Sets a header like an object key would: a later value replaces an earlier one in place. */
export function putHeader(list: HeaderList, name: string, value: string | number): void {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === name) {
      list[i + 1] = value;
      return;
    }
  }
  list.push(name, value);
}

/** The value of header `name` (lower-case) in `list`, if set. */
export function headerValue(list: HeaderList, name: string): string | number | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

export interface CorsOptions {
  /** Allowed origins; `*` allows any. */
  origins: readonly string[];
}

const ALLOW_HEADERS = 'authorization, content-type, idempotency-key, if-match, x-request-id, traceparent, tracestate';
const EXPOSE_HEADERS = 'x-request-id, etag, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, location';

/** Adds the CORS response headers for a request's Origin to `list`; nothing when the origin is not allowed. */
export function addCorsHeaders(list: HeaderList, cors: CorsOptions, origin: string | undefined, preflight: boolean): void {
  if (!origin || cors.origins.length === 0) return;
  const any = cors.origins.includes('*');
  if (!any && !cors.origins.includes(origin)) return;
  list.push('access-control-allow-origin', any ? '*' : origin, 'access-control-expose-headers', EXPOSE_HEADERS);
  if (!any) list.push('vary', 'Origin');
  if (preflight) {
    list.push(
      'access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers', ALLOW_HEADERS,
      'access-control-max-age', '600',
    );
  }
}
