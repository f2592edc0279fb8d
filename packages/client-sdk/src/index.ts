/**
 * `@plinth/client`: a typed client for a Plinth server, built from the API
 * contract (`@plinth/core/contract`) — no generated code, no server code. Runs
 * in browsers (global `fetch`) and in Node (the `node` export condition sends
 * with undici over a keep-alive agent).
 */
export { createClient } from './client.js';
export type { CreateClientOptions, PlinthClient, BuiltinRoutes } from './client.js';
export { memoryTokenStore, webStorageTokenStore } from './session.js';
export type { StoredTokens, TokenStore, WebStorageLike } from './session.js';
export { DEFAULT_RETRY, parseRetryAfter } from './retry.js';
export type { RetryOptions } from './retry.js';
export { DEFAULT_REFRESH_MARGIN_MS } from './session-auth.js';
export { createRouteClient } from './route-client.js';
export { createSseParser } from './events.js';
export type { RealtimeEvent } from '@plinth/core/contract';
export type { EventsClient, SubscribeInput, SubscribeHandlers, ReconnectOptions, Subscription, ResetNotice, TopicName } from './events.js';
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
