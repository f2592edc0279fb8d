import { z } from 'zod';
import { defineModule, type PermissionDeclaration } from '../../module.js';
import { ANALYTICS_EVENTS } from './facts.js';
import { analyticsMigrations } from './migrations.js';
import { analyticsRouteImplementations } from './routes.js';
import { type AnalyticsService, APPLY_JOB, createAnalyticsService } from './service.js';

export const analyticsPermissions = {
  'reports:read': { description: 'Read reports and export their rollups', grantedTo: ['staff'] },
} as const satisfies Record<string, PermissionDeclaration>;

/** The subscriber job's payload: the committed event, as the dispatcher hands it over. */
const dispatchedEvent = z
  .object({ id: z.string(), type: z.string(), payload: z.unknown(), createdAt: z.union([z.string(), z.date()]).transform((v) => new Date(v).toISOString()) })
  .passthrough();

/**
 * Analytics: hourly and daily rollups fed by outbox events (orders, payments,
 * sign-ups, low stock), counted once per event, a rebuild from the event
 * history, the reports API and streamed exports.
 */
export const analyticsModule = defineModule({
  name: 'analytics',
  dependsOn: ['identity', 'access', 'catalog', 'inventory', 'orders', 'payments'],
  migrations: analyticsMigrations,
  permissions: analyticsPermissions,
  routes: analyticsRouteImplementations,
  jobs: {
    [APPLY_JOB]: {
      payload: dispatchedEvent,
      maxAttempts: 20,
      backoff: { baseMs: 500, maxMs: 60_000 },
      async handler({ payload, kernel }) {
        await kernel.service<AnalyticsService>('analytics').apply([payload]);
      },
    },
  },
  subscribers: Object.fromEntries(ANALYTICS_EVENTS.map((type) => [type, APPLY_JOB])),
  services: createAnalyticsService,
});

export type { AnalyticsService, RebuildProgress, RebuildResult, ReportQueryInput, ExportQuery, Freshness } from './service.js';
export type { AnalyticsEvent } from './facts.js';
export { ANALYTICS_EVENTS, METRICS as ANALYTICS_METRICS } from './facts.js';
export { bucketsOf } from './buckets.js';
