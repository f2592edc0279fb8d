import { type KernelRoutes, kernelRoutes } from '@plinth/core/contract';
import { bindRoutes } from './route-client.js';
import { createTransport } from './transport.js';
import type { CallRoute, ClientOptions, RouteClient, RouteTable } from './types.js';

export interface CreateClientOptions<Routes extends RouteTable = {}> extends ClientOptions {
  /** More routes to get methods for, besides the kernel's (e.g. a module's route table); default none. */
  routes?: Routes;
}

/** The Plinth client: a method per kernel route (and per route given in `routes`), plus `call` for any route. */
export type PlinthClient<Routes extends RouteTable = {}> = RouteClient<KernelRoutes & Routes> & {
  /** Calls any contract route, e.g. one a module added: `client.call(widgetRoutes.get, { params: { id } })`. */
  readonly call: CallRoute;
  /** The API's base URL, normalized (no trailing slash). */
  readonly baseUrl: string;
};

const RESERVED = new Set(['call', 'baseUrl']);

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
  const { routes, ...clientOptions } = options;
  for (const name of Object.keys(routes ?? {})) {
    if (RESERVED.has(name) || name in kernelRoutes) throw new TypeError(`Route name "${name}" is taken by the client; rename it in the route table`);
  }
  const transport = createTransport(clientOptions);
  const methods = bindRoutes({ ...kernelRoutes, ...routes } as KernelRoutes & Routes, transport);
  return Object.freeze({ ...methods, call: transport.call, baseUrl: transport.baseUrl }) as PlinthClient<Routes>;
}
