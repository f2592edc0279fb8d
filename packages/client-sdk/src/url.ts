const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Fills a route path's `:param` segments (the server's router matches whole
 * segments the same way), each value passed through `encodeURIComponent`, so an
 * id with `/`, `?` or spaces stays one segment.
 */
export function fillPath(path: string, params: unknown): string {
  const values = (params ?? {}) as Record<string, unknown>;
  return path
    .split('/')
    .map((segment) => {
      const m = PARAM.exec(segment);
      if (!m) return segment;
      const value = values[m[1]!];
      if (value === undefined || value === null || value === '') {
        // An empty segment would silently hit another route (`/v1/products/` is the list).
        throw new TypeError(`Path parameter "${m[1]}" of ${path} is missing or empty`);
      }
      return encodeURIComponent(String(value));
    })
    .join('/');
}

/**
 * `?a=1&tag=x&tag=y` from a query object: arrays become repeated keys,
 * `undefined` and `null` are left out, dates are sent as ISO 8601, other
 * objects as JSON. Empty when nothing is left.
 */
export function queryString(query: unknown): string {
  if (query === undefined || query === null) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (item === undefined || item === null) continue;
      search.append(key, item instanceof Date ? item.toISOString() : typeof item === 'object' ? JSON.stringify(item) : String(item));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The base URL without a trailing slash; a path prefix (`https://host/api`) is kept. Throws on an invalid URL. */
export function normalizeBaseUrl(baseUrl: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(baseUrl));
  } catch (error) {
    throw new TypeError(`baseUrl is not a valid URL: ${String(baseUrl)}`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`baseUrl must be an http(s) URL: ${String(baseUrl)}`);
  if (url.search || url.hash) throw new TypeError(`baseUrl must not carry a query or fragment: ${String(baseUrl)}`);
  return url.href.replace(/\/+$/, '');
}
