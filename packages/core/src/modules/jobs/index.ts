import { defineModule, type PermissionDeclaration } from '../../module.js';
import { jobsRouteImplementations } from './routes.js';
import { createJobsService } from './service.js';

/** Permissions of the job admin API (`admin` holds both). */
export const jobsPermissions = {
  'jobs:read': { description: 'List and read background jobs, their payloads and errors', grantedTo: ['staff'] },
  'jobs:write': { description: 'Retry and cancel background jobs' },
} as const satisfies Record<string, PermissionDeclaration>;

/**
 * The admin side of the kernel's job queue: routes and services to list, read,
 * retry and cancel jobs. The queue itself (`kernel.jobs`, workers, the outbox
 * dispatcher) is part of the kernel and works without this module.
 */
export const jobsModule = defineModule({
  name: 'jobs',
  dependsOn: ['audit'],
  permissions: jobsPermissions,
  routes: jobsRouteImplementations,
  services: createJobsService,
});

export type { JobsService } from './service.js';
