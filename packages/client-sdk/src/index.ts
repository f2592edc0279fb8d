/**
 * `@plinth/client`: a typed client for a Plinth server, built from the API
 * contract (`@plinth/core/contract`) — no generated code, no server code. Runs
 * in browsers (global `fetch`) and in Node (the `node` export condition sends
 * with undici over a keep-alive agent).
 */
export { createClient } from './client.js';
export type { CreateClientOptions, PlinthClient, BuiltinRoutes } from './client.js';
export { memoryTokenStore } from './session.js';
export type { StoredTokens, TokenStore } from './session.js';
export { createRouteClient } from './route-client.js';
export { PlinthApiError, isPlinthApiError } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export { DEFAULT_TIMEOUT_MS } from './transport.js';
export type {
  CallArgs,
  CallInput,
  CallOptions,
  CallRoute,
  ClientOptions,
  FetchLike,
  FetchResponseLike,
  HeaderValues,
  RouteClient,
  RouteMethod,
  RouteTable,
} from './types.js';
