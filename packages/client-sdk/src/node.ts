/**
 * The Node build of `@plinth/client` (the `node` export condition): the same
 * API as the universal entry, but requests go through undici's `fetch` over one
 * shared keep-alive agent instead of the global `fetch`. Pass `fetch` to use
 * another transport.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { createClient as createUniversalClient, type CreateClientOptions, type PlinthClient } from './client.js';
import { createRouteClient as createUniversalRouteClient } from './route-client.js';
import type { ClientOptions, FetchLike, RouteClient, RouteTable } from './types.js';

export * from './index.js';
export { fileTokenStore } from './file-token-store.js';

let agent: Agent | undefined;

/** undici's fetch over one keep-alive agent per process (idle sockets do not keep the process alive). */
const nodeFetch: FetchLike = (url, init) => {
  // Idle sockets close after 10 s, or sooner when the server says so (`Keep-Alive: timeout=5`, minus a margin).
  agent ??= new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });
  return undiciFetch(url, { ...init, dispatcher: agent });
};

/** Creates a typed client for a Plinth server, sending with undici unless `fetch` is given. */
export function createClient<const Routes extends RouteTable = {}>(options: CreateClientOptions<Routes>): PlinthClient<Routes> {
  return createUniversalClient<Routes>({ ...options, fetch: options.fetch ?? nodeFetch });
}

/** A client for a route table (one method per key), sending with undici unless `fetch` is given. */
export function createRouteClient<const Routes extends RouteTable>(routes: Routes, options: ClientOptions): RouteClient<Routes> {
  return createUniversalRouteClient(routes, { ...options, fetch: options.fetch ?? nodeFetch });
}
