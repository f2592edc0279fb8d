/**
 * A JSON answer checked against its route's response schema and serialized once, ahead of the
 * request: what a handler returns to skip the per-request response validation and
 * `JSON.stringify` (e.g. a body kept in `kernel.cache`, served to many requests).
 */
import type { RouteDef, RouteResponse } from './contract/route.js';

const BRAND = Symbol.for('plinth.preparedJson');

/** An answer's body, serialized after the route's response schema parsed it. */
export interface PreparedJson<T = unknown> {
  readonly [BRAND]: true;
  /** The JSON text sent as the body. */
  readonly body: string;
  /** Never set: carries the response type, so a handler returns the right route's answer. */
  readonly __response?: T;
}

/**
 * Parses `value` with the route's response schema (stripping undeclared fields, as the server
 * does for a plain answer) and serializes it. Throws when the value breaks the contract.
 */
export function prepareJson<R extends RouteDef>(route: R, value: RouteResponse<R>): PreparedJson<RouteResponse<R>> {
  const output = route.response.safeParse(value);
  if (!output.success) {
    throw new Error(`A prepared answer for ${route.method} ${route.path} breaks its contract: ${output.error.message}`);
  }
  return Object.freeze({ [BRAND]: true as const, body: JSON.stringify(output.data) });
}

/** Whether a handler's result is a prepared answer (the server then sends its body as it is). */
export function isPreparedJson(value: unknown): value is PreparedJson {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
