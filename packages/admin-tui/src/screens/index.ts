import { auditScreen } from './audit.js';
import { catalogScreen } from './catalog.js';
import { dashboardScreen } from './dashboard.js';
import { jobsScreen } from './jobs.js';
import { ordersScreen } from './orders.js';
import { reportsScreen } from './reports.js';
import type { ScreenDef } from './screen.js';
import { usersScreen } from './users.js';
import { webhooksScreen } from './webhooks.js';

/**
 * The console's screens, in tab order (keys 1-9). Add a screen by appending a
 * `ScreenDef`: the tab bar, the number keys and the help screen follow.
 */
export const builtinScreens: readonly ScreenDef[] = [dashboardScreen, usersScreen, ordersScreen, catalogScreen, reportsScreen, jobsScreen, webhooksScreen, auditScreen];

export { auditScreen, catalogScreen, dashboardScreen, jobsScreen, ordersScreen, reportsScreen, usersScreen, webhooksScreen };
export type { ScreenDef };
