import type { AnyModule } from '../module.js';
import { accessModule } from './access/index.js';
import { analyticsModule } from './analytics/index.js';
import { auditModule } from './audit/index.js';
import { catalogModule } from './catalog/index.js';
import { identityModule } from './identity/index.js';
import { inventoryModule } from './inventory/index.js';
import { jobsModule } from './jobs/index.js';
import { ordersModule } from './orders/index.js';
import { paymentsModule } from './payments/index.js';
import { realtimeModule } from './realtime/index.js';
import { notificationsModule } from './notifications/index.js';
import { webhooksModule } from './webhooks/index.js';

/** The modules `createPlinth` loads unless told otherwise. */
export const builtinModules: readonly AnyModule[] = [
  auditModule, identityModule, accessModule, jobsModule, catalogModule, inventoryModule, ordersModule, paymentsModule, notificationsModule, webhooksModule, realtimeModule, analyticsModule,
];
