import type { RouteDef } from '@plinth/core/contract';
import { createTransport, type Transport } from './transport.js';
import type { ClientOptions, RouteClient, RouteTable } from './types.js';

/**
 * A client for a route table: one method per key, typed from the route's
 * schemas. Routes added to the contract later get methods the same way:
 *
 * ```ts
 * const ops = createRouteClient(kernelRoutes, { baseUrl });
 * const { status } = await ops.health();
 * ```
 */
export function createRouteClient<const Routes extends RouteTable>(routes: Routes, options: ClientOptions): RouteClient<Routes> {
  return bindRoutes(routes, createTransport(options));
}

/** One method per route, all sharing one transport. */
export function bindRoutes<Routes extends RouteTable>(routes: Routes, transport: Transport): RouteClient<Routes> {
  const methods: Record<string, unknown> = {};
  for (const [name, route] of Object.entries(routes)) {
    if (!isRoute(route)) throw new TypeError(`Route table entry "${name}" is not a route (defineRoute)`);
    methods[name] = (...args: never[]) => transport.call(route, ...(args as []));
  }
  return Object.freeze(methods) as RouteClient<Routes>;
}

function isRoute(value: unknown): value is RouteDef {
  const route = value as Partial<RouteDef> | null;
  return typeof route === 'object' && route !== null && typeof route.method === 'string' && typeof route.path === 'string' && route.response !== undefined;
}
