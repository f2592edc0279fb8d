import { z } from 'zod';
import { listOf, pageQuery } from './identity.js';
import { defineRoute } from './route.js';

export const jobsErrors = {
  'jobs.not_found': 404,
  'jobs.invalid_state': 409,
  /** Enqueueing a type no loaded module declares (a programming error). */
  'jobs.unknown_type': 500,
  /** Enqueueing a payload its type's schema rejects, or bad options (a programming error). */
  'jobs.invalid_payload': 500,
  'jobs.invalid_options': 500,
} as const;
export type JobsErrorCode = keyof typeof jobsErrors;

export const jobStateSchema = z.enum(['queued', 'running', 'completed', 'dead', 'cancelled']);

export const jobSchema = z.object({
  id: z.string(),
  type: z.string(),
  queue: z.string(),
  state: jobStateSchema,
  payload: z.unknown(),
  priority: z.number().int(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  runAt: z.string(),
  uniqueKey: z.string().nullable(),
  lockedBy: z.string().nullable(),
  lockedUntil: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});

const id = z.string().min(1).max(64);
const name = z.string().trim().min(1).max(100);

export const jobsRoutes = {
  listJobs: defineRoute({
    method: 'GET', path: '/v1/jobs', operationId: 'listJobs', summary: 'Jobs, newest first; filter by state, type and queue.', tags: ['jobs'], permission: 'jobs:read',
    query: pageQuery.extend({ state: jobStateSchema.optional(), type: name.optional(), queue: name.optional() }),
    response: listOf(jobSchema),
  }),
  getJob: defineRoute({
    method: 'GET', path: '/v1/jobs/:id', operationId: 'getJob', summary: 'One job, with its last error.', tags: ['jobs'], permission: 'jobs:read',
    params: z.object({ id }), response: jobSchema,
  }),
  retryJob: defineRoute({
    method: 'POST', path: '/v1/jobs/:id/retry', operationId: 'retryJob', summary: 'Run a dead, cancelled or waiting job now (attempts start again).', tags: ['jobs'], permission: 'jobs:write',
    params: z.object({ id }), response: jobSchema,
  }),
  cancelJob: defineRoute({
    method: 'POST', path: '/v1/jobs/:id/cancel', operationId: 'cancelJob', summary: 'Cancel a queued job.', tags: ['jobs'], permission: 'jobs:write',
    params: z.object({ id }), response: jobSchema,
  }),
} as const;
