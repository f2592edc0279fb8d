import {
  accessRoutes, auditRoutes, catalogRoutes, identityRoutes, inventoryRoutes, jobsRoutes, type KernelRoutes, kernelRoutes, notificationsRoutes, ordersRoutes, paymentsRoutes, reportsRoutes,
  webhooksRoutes,
} from '@plinth/core/contract';
import { createEventsClient, type EventsClient } from './events.js';
import { bindRoutes } from './route-client.js';
import type { RouteDef } from '@plinth/core/contract';
import { isPlinthApiError } from './errors.js';
import { createSessionAuth, DEFAULT_REFRESH_MARGIN_MS } from './session-auth.js';
import { memoryTokenStore, type StoredTokens, type TokenStore, tokensIn } from './session.js';
import { createTransport } from './transport.js';
import type { CallOptions, CallRoute, ClientOptions, RouteClient, RouteTable } from './types.js';

export interface CreateClientOptions<Routes extends RouteTable = {}> extends ClientOptions {
  /** More routes to get methods for, besides the built-in ones (e.g. a module's route table); default none. */
  routes?: Routes;
  /** Where the signed-in user's tokens are kept; default in memory. */
  tokens?: TokenStore;
  /** Authenticate every call with this API key (`plk_...`) instead of tokens; default none. */
  apiKey?: string;
  /** Refresh the access token by itself: shortly before it expires, and once after a 401; default true. */
  autoRefresh?: boolean;
  /** How long before its expiry an access token is refreshed, in ms; default 30 000. */
  refreshMarginMs?: number;
}

/** Every route the built-in modules serve. */
const builtinRoutes = { ...kernelRoutes, ...identityRoutes, ...accessRoutes, ...auditRoutes, ...catalogRoutes, ...inventoryRoutes, ...ordersRoutes, ...jobsRoutes, ...paymentsRoutes, ...reportsRoutes, ...notificationsRoutes, ...webhooksRoutes };
export type BuiltinRoutes = KernelRoutes & typeof identityRoutes & typeof accessRoutes & typeof auditRoutes & typeof catalogRoutes & typeof inventoryRoutes & typeof ordersRoutes & typeof jobsRoutes & typeof paymentsRoutes & typeof reportsRoutes & typeof notificationsRoutes & typeof webhooksRoutes;
/** One method per built-in route (computed once, not per client type). */
export type BuiltinClient = RouteClient<KernelRoutes> & RouteClient<typeof identityRoutes> & RouteClient<typeof accessRoutes> & RouteClient<typeof auditRoutes> &
  RouteClient<typeof catalogRoutes> & RouteClient<typeof inventoryRoutes> & RouteClient<typeof ordersRoutes> & RouteClient<typeof jobsRoutes> & RouteClient<typeof paymentsRoutes> &
  RouteClient<typeof reportsRoutes> & RouteClient<typeof notificationsRoutes> & RouteClient<typeof webhooksRoutes>;

/** The Plinth client: a method per built-in route (and per route given in `routes`), plus `call` for any route. */
export type PlinthClient<Routes extends RouteTable = {}> = BuiltinClient & RouteClient<Routes> & {
  /** Calls any contract route, e.g. one a module added: `client.call(widgetRoutes.get, { params: { id } })`. */
  readonly call: CallRoute;
  /** The API's base URL, normalized (no trailing slash). */
  readonly baseUrl: string;
  /** The signed-in session: tokens from sign-up/sign-in/MFA/refresh are stored and sent by themselves. */
  readonly session: {
    get(): Promise<StoredTokens | null>;
    set(tokens: StoredTokens | null): Promise<void>;
    /** Trades the stored refresh token for new tokens now; `null` when there is no session (or it ended). */
    refresh(): Promise<StoredTokens | null>;
  };
  /** Live events (`GET /v1/events`): `client.events.subscribe({ topics: ['orders'] }, onEvent)`, reconnecting by itself. */
  readonly events: EventsClient;
};

const RESERVED = new Set(['call', 'baseUrl', 'session', 'events']);
/** Methods whose answer replaces the stored tokens. */
const SIGNING_IN = new Set(['signUp', 'signIn', 'verifyMfa', 'refresh', 'oidcCallback']);

/**
 * Creates a typed client for a Plinth server. Options are checked once, here
 * (an invalid `baseUrl` throws at once).
 *
 * ```ts
 * const client = createClient({ baseUrl: 'http://localhost:3000' });
 * await client.health(); // { status: 'ok' }
 * ```
 */
export function createClient<const Routes extends RouteTable = {}>(options: CreateClientOptions<Routes>): PlinthClient<Routes> {
  const { routes, tokens = memoryTokenStore(), apiKey, autoRefresh = true, refreshMarginMs = DEFAULT_REFRESH_MARGIN_MS, ...clientOptions } = options;
  for (const name of Object.keys(routes ?? {})) {
    if (RESERVED.has(name) || name in builtinRoutes) throw new TypeError(`Route name "${name}" is taken by the client; rename it in the route table`);
  }
  if (typeof refreshMarginMs !== 'number' || !Number.isFinite(refreshMarginMs) || refreshMarginMs < 0) {
    throw new TypeError(`refreshMarginMs must be a number of milliseconds >= 0, got ${String(refreshMarginMs)}`);
  }
  const transport = createTransport(clientOptions);
  const auth = createSessionAuth(transport, tokens, { enabled: autoRefresh && !apiKey, marginMs: refreshMarginMs });

  /** Every call: credentials in front (an API key, or an access token refreshed when it is about to expire), one refresh and retry on 401. */
  const call = (async (route: RouteDef, ...args: unknown[]) => {
    const [input, callOptions = {}] = args as [unknown, CallOptions?];
    if (apiKey) return transport.call(route, input as never, withHeader(callOptions, 'x-api-key', apiKey));
    const current = await auth.current();
    if (!current) return transport.call(route, input as never, callOptions);
    try {
      return await transport.call(route, input as never, withHeader(callOptions, 'authorization', `Bearer ${current.accessToken}`));
    } catch (error) {
      // An access token the server no longer takes (expired early, key rotated): refresh once and try again.
      if (!(isPlinthApiError(error) && error.status === 401 && route.auth !== 'public')) throw error;
      const next = await auth.refresh(current);
      if (!next) throw error;
      return transport.call(route, input as never, withHeader(callOptions, 'authorization', `Bearer ${next.accessToken}`));
    }
  }) as CallRoute;

  const methods = bindRoutes({ ...builtinRoutes, ...routes } as BuiltinRoutes & Routes, { baseUrl: transport.baseUrl, call }) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const wrapped: Record<string, unknown> = { ...methods };
  for (const name of SIGNING_IN) {
    const method = methods[name]!;
    wrapped[name] = async (...args: unknown[]) => {
      const answer = await method(...args);
      const next = tokensIn(answer, Date.now());
      if (next) await tokens.set(next);
      return answer;
    };
  }
  wrapped.signOut = async (...args: unknown[]) => {
    try {
      return await methods.signOut!(...args);
    } finally {
      await tokens.set(null);
    }
  };
  const session = { get: async () => tokens.get(), set: async (next: StoredTokens | null) => tokens.set(next), refresh: async () => auth.refreshNow() };
  // The realtime subscription: the client's headers and credentials on every (re)connection, one refresh after a 401.
  const events = createEventsClient({
    baseUrl: transport.baseUrl,
    fetch: clientOptions.fetch ?? ((url, init) => globalThis.fetch(url, init)),
    async headers() {
      const given = clientOptions.headers;
      const base = typeof given === 'function' ? await given() : (given ?? {});
      if (apiKey) return { ...base, 'x-api-key': apiKey };
      const current = await auth.current();
      return current ? { ...base, authorization: `Bearer ${current.accessToken}` } : base;
    },
    async refresh() {
      if (apiKey) return false;
      try {
        return (await auth.refreshNow()) !== null;
      } catch {
        return false;
      }
    },
  });
  return Object.freeze({ ...wrapped, call, baseUrl: transport.baseUrl, session, events }) as PlinthClient<Routes>;
}

/** Call options with one more header; the caller's own headers win. */
function withHeader(options: CallOptions, name: string, value: string): CallOptions {
  return { ...options, headers: { [name]: value, ...options.headers } };
}
