import { z } from 'zod';
import { defineRoute } from './route.js';

const check = z.object({
  ok: z.boolean(),
  latencyMs: z.number(),
  error: z.string().optional(),
});

export const healthResponse = z.object({ status: z.literal('ok') });
export const readyResponse = z.object({
  status: z.literal('ok'),
  checks: z.record(z.string(), check),
});

/** Kernel routes, served by every Plinth server. */
export const kernelRoutes = {
  health: defineRoute({
    method: 'GET',
    path: '/healthz',
    operationId: 'health',
    summary: 'Liveness: the process answers.',
    tags: ['ops'],
    auth: 'public',
    response: healthResponse,
  }),
  ready: defineRoute({
    method: 'GET',
    path: '/readyz',
    operationId: 'ready',
    summary: 'Readiness: the database (and Redis when configured) answer. When not: 503 problem `service.unavailable` with the same `checks`.',
    tags: ['ops'],
    auth: 'public',
    response: readyResponse,
  }),
  metrics: defineRoute({
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics in text exposition format.',
    tags: ['ops'],
    auth: 'public',
    response: z.string(),
    responseType: 'text',
  }),
  openapi: defineRoute({
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This API as an OpenAPI 3.1 document.',
    tags: ['ops'],
    auth: 'public',
    response: z.record(z.string(), z.unknown()),
  }),
} as const;

export type KernelRoutes = typeof kernelRoutes;
