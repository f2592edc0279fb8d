/**
 * Security headers for a JSON API; every response carries them. Document-only
 * headers (Referrer-Policy, COOP, X-Frame-Options — CSP `frame-ancestors`
 * supersedes it) do nothing on JSON and are left out.
 */
export const securityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
});

/** Sent only over HTTPS: RFC 6797 §7.2 forbids it on plain HTTP. */
export const HSTS = ['strict-transport-security', 'max-age=31536000; includeSubDomains'] as const;

/**
 * Response headers as the flat `[name, value, name, value, ...]` list that
 * `res.writeHead` takes: copying a list of constants is cheaper than spreading
 * an object per response. Names are lower-case.
 */
export type HeaderList = (string | number)[];

// Not frozen: V8 copies a frozen array about ten times slower.
const securityList: readonly string[] = Object.entries(securityHeaders).flat();

/** What every response starts with: the security headers (HSTS on HTTPS) and the request id. */
export function baseHeaders(requestId: string, https: boolean): HeaderList {
  const list: HeaderList = securityList.slice();
  if (https) list.push(HSTS[0], HSTS[1]);
  list.push('x-request-id', requestId);
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
const EXPOSE_HEADERS = 'x-request-id, etag, idempotent-replayed, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, ratelimit-policy, location';

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
