/** `@plinth/server`: the `node:http` adapter for a Plinth instance. */
export { createServer } from './create-server.js';
export type { PlinthServer, ServerOptions, ListenInfo } from './create-server.js';
export { handleShutdownSignals } from './shutdown.js';
export { securityHeaders } from './headers.js';
