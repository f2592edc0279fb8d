import type { HttpMethod, RouteDef } from '@plinth/core/contract';
import type { RouteImplementation } from '@plinth/core';

export interface Match {
  impl: RouteImplementation;
  params: Record<string, string>;
}

export type Lookup =
  | { kind: 'found'; match: Match }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' };

interface Pattern {
  path: string;
  regex: RegExp;
  names: string[];
  byMethod: Map<string, RouteImplementation>;
  /** Declaration order: the first matching pattern wins. */
  order: number;
}

/** A pattern's bucket: its first two segments when both are literal (`v1/products`), else {@link ANY}. */
const ANY = '';
function prefixOf(segments: readonly string[]): string {
  return segments.length >= 2 && !PARAM.test(segments[0]!) && !PARAM.test(segments[1]!) ? `${segments[0]}/${segments[1]}` : ANY;
}

const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

/** The params of a static route: shared, so a lookup of one allocates nothing. */
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Static paths are one Map lookup; paths with `:params` are matched by regex,
 * in declaration order, among the patterns that can match at all: those that
 * start with the path's first two segments, and those whose start is a param.
 * HEAD is answered by the GET route.
 */
export class Router {
  readonly #static = new Map<string, Map<string, RouteImplementation>>();
  readonly #patterns: Pattern[] = [];
  /** Patterns by `prefixOf`, each list in declaration order with the {@link ANY} ones merged in. */
  #byPrefix = new Map<string, Pattern[]>();
  /** The answer of `find` for each static route, made once. */
  readonly #staticFound = new Map<RouteImplementation, Lookup>();

  add(impl: RouteImplementation): void {
    const { method, path } = impl.route as RouteDef & { method: HttpMethod };
    if (!path.startsWith('/')) throw new Error(`Route path must start with "/": ${path}`);
    const segments = path.split('/').slice(1);
    const names: string[] = [];
    const dynamic = segments.some((s) => PARAM.test(s));
    let byMethod: Map<string, RouteImplementation>;
    if (!dynamic) {
      byMethod = this.#static.get(path) ?? new Map();
      this.#static.set(path, byMethod);
      this.#staticFound.set(impl, { kind: 'found', match: { impl, params: NO_PARAMS } });
    } else {
      const source = segments
        .map((s) => {
          const m = PARAM.exec(s);
          if (!m) return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(m[1]!);
          return '([^/]+)';
        })
        .join('/');
      let pattern = this.#patterns.find((p) => p.path === path);
      if (!pattern) {
        pattern = { path, regex: new RegExp(`^/${source}/?$`), names, byMethod: new Map(), order: this.#patterns.length };
        this.#patterns.push(pattern);
        this.#index();
      }
      byMethod = pattern.byMethod;
    }
    if (byMethod.has(method)) throw new Error(`Route ${method} ${path} is declared twice`);
    byMethod.set(method, impl);
  }

  /** Rebuilds the buckets (routes are added at start-up, never per request). */
  #index(): void {
    const byPrefix = new Map<string, Pattern[]>();
    const any: Pattern[] = [];
    for (const p of this.#patterns) {
      const prefix = prefixOf(p.path.split('/').slice(1));
      if (prefix === ANY) any.push(p);
      else byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), p]);
    }
    for (const [prefix, list] of byPrefix) byPrefix.set(prefix, [...list, ...any].sort((a, b) => a.order - b.order));
    byPrefix.set(ANY, any);
    this.#byPrefix = byPrefix;
  }

  /** The patterns that may match `path`, in declaration order. */
  #candidates(path: string): Pattern[] {
    const second = path.indexOf('/', 1);
    const end = second === -1 ? -1 : path.indexOf('/', second + 1);
    const prefix = second === -1 ? ANY : path.slice(1, end === -1 ? path.length : end);
    return this.#byPrefix.get(prefix) ?? this.#byPrefix.get(ANY) ?? [];
  }

  find(method: string, path: string): Lookup {
    let byMethod = this.#static.get(path);
    let params = NO_PARAMS;
    if (!byMethod && path.length > 1 && path.endsWith('/')) byMethod = this.#static.get(path.slice(0, -1));
    if (!byMethod) {
      for (const p of this.#candidates(path)) {
        const m = p.regex.exec(path);
        if (!m) continue;
        byMethod = p.byMethod;
        params = {};
        for (let i = 0; i < p.names.length; i++) {
          const value = decodeURIComponent(m[i + 1]!);
          if (value.includes('\0')) throw new URIError('NUL in a path parameter');
          params[p.names[i]!] = value;
        }
        break;
      }
    }
    if (!byMethod) return { kind: 'not_found' };
    const impl = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined);
    if (impl) return (params === NO_PARAMS && this.#staticFound.get(impl)) || { kind: 'found', match: { impl, params } };
    const allow = [...byMethod.keys()];
    if (allow.includes('GET')) allow.push('HEAD');
    return { kind: 'method_not_allowed', allow: [...allow, 'OPTIONS'] };
  }
}
