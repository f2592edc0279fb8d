import { accessRoutes, identityRoutes, type KernelRoutes, kernelRoutes } from '@plinth/core/contract';
import { bindRoutes } from './route-client.js';
import { memoryTokenStore, type StoredTokens, type TokenStore, tokensIn } from './session.js';
import { createTransport } from './transport.js';
import type { CallRoute, ClientOptions, HeaderValues, RouteClient, RouteTable } from './types.js';

export interface CreateClientOptions<Routes extends RouteTable = {}> extends ClientOptions {
  /** More routes to get methods for, besides the built-in ones (e.g. a module's route table); default none. */
  routes?: Routes;
  /** Where the signed-in user's tokens are kept; default in memory. */
  tokens?: TokenStore;
  /** Authenticate every call with this API key (`plk_...`) instead of tokens; default none. */
  apiKey?: string;
}

/** Every route the built-in modules serve. */
const builtinRoutes = { ...kernelRoutes, ...identityRoutes, ...accessRoutes };
export type BuiltinRoutes = KernelRoutes & typeof identityRoutes & typeof accessRoutes;
/** One method per built-in route (computed once, not per client type). */
export type BuiltinClient = RouteClient<KernelRoutes> & RouteClient<typeof identityRoutes> & RouteClient<typeof accessRoutes>;

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
  };
};

const RESERVED = new Set(['call', 'baseUrl', 'session']);
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
  const { routes, tokens = memoryTokenStore(), apiKey, headers, ...clientOptions } = options;
  for (const name of Object.keys(routes ?? {})) {
    if (RESERVED.has(name) || name in builtinRoutes) throw new TypeError(`Route name "${name}" is taken by the client; rename it in the route table`);
  }
  const authHeaders = async (): Promise<HeaderValues> => {
    const base = typeof headers === 'function' ? await headers() : (headers ?? {});
    if (apiKey) return { 'x-api-key': apiKey, ...base };
    const stored = await tokens.get();
    return stored ? { authorization: `Bearer ${stored.accessToken}`, ...base } : base;
  };
  const transport = createTransport({ ...clientOptions, headers: authHeaders });
  const methods = bindRoutes({ ...builtinRoutes, ...routes } as BuiltinRoutes & Routes, transport) as Record<string, (...args: unknown[]) => Promise<unknown>>;
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
  const session = { get: async () => tokens.get(), set: async (next: StoredTokens | null) => tokens.set(next) };
  return Object.freeze({ ...wrapped, call: transport.call, baseUrl: transport.baseUrl, session }) as PlinthClient<Routes>;
}
