/** `@plinth/admin-tui`: the Ink admin console, started by `plinth admin`. */
export { AdminApp, colorsEnabled } from './admin-app.js';
export type { AdminAppProps } from './admin-app.js';
export { runAdmin } from './run-admin.js';
export type { RunAdminOptions } from './run-admin.js';
export { keyBindings } from './key-bindings.js';
export type { AdminAction, KeyBinding } from './key-bindings.js';
