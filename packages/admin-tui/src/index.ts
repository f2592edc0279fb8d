/** `@plinth/admin-tui`: the Ink admin console, started by `plinth admin`. */
export { AdminApp, colorsEnabled } from './admin-app.js';
export type { AdminAppProps } from './admin-app.js';
export { runAdmin } from './run-admin.js';
export type { RunAdminOptions } from './run-admin.js';
export { globalBindings, listBindings, keyName, actionFor } from './key-bindings.js';
export type { KeyBinding } from './key-bindings.js';
export { builtinScreens, dashboardScreen, usersScreen, ordersScreen, catalogScreen, reportsScreen, jobsScreen, webhooksScreen, auditScreen } from './screens/index.js';
export type { ScreenDef } from './screens/index.js';
export { useConsole } from './ui/context.js';
export type { ConsoleContext } from './ui/context.js';
export { VirtualList } from './ui/virtual-list.js';
export { credentialsPath, fileTokenStore, forgetServer, savedServer, savedServers } from './credentials.js';
export type { SavedServer } from './credentials.js';
export { readableError, SessionExpiredError } from './api.js';
