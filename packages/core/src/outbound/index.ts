export { createCircuitBreaker, CircuitOpenError, OutboundTimeoutError, breakerDefaults, resolveBreakerOptions } from './circuit-breaker.js';
export type { CircuitBreaker, CircuitBreakerOptions, CircuitCallOptions, CircuitState } from './circuit-breaker.js';
export { createCircuitBreakers, circuitStateValue } from './breakers.js';
export type { CircuitBreakers } from './breakers.js';
export { assertPublicUrl, resolvePublicAddresses, isPrivateAddress, parseTargetUrl, guardedLookup } from './ssrf.js';
