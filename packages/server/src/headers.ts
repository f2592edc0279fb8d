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

export interface CorsOptions {
  /** Allowed origins; `*` allows any. */
  origins: readonly string[];
}

const ALLOW_HEADERS = 'authorization, content-type, idempotency-key, if-match, x-request-id, traceparent, tracestate';
const EXPOSE_HEADERS = 'x-request-id, etag, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, location';

/** CORS response headers for a request's Origin, or none when the origin is not allowed. */
export function corsHeaders(cors: CorsOptions, origin: string | undefined, preflight: boolean): Record<string, string> | undefined {
  if (!origin || cors.origins.length === 0) return undefined;
  const any = cors.origins.includes('*');
  if (!any && !cors.origins.includes(origin)) return undefined;
  const headers: Record<string, string> = {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-expose-headers': EXPOSE_HEADERS,
  };
  if (!any) headers.vary = 'Origin';
  if (preflight) {
    headers['access-control-allow-methods'] = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
    headers['access-control-allow-headers'] = ALLOW_HEADERS;
    headers['access-control-max-age'] = '600';
  }
  return headers;
}
