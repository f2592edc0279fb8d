import { z } from 'zod';
import { problemSchema } from './problem.js';
import type { RouteDef } from './route.js';

export interface OpenApiInfo {
  title?: string;
  version?: string;
  description?: string;
}

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any'}) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = schemaOf(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}

/** Every POST honours `Idempotency-Key` (the server does it for every route, no handler code). */
const idempotencyKeyParameter = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes a retry safe: the same key with the same body replays the first answer (with `Idempotent-Replayed: true`); ' +
    'with another body it is 422 `idempotency.key_reused`; while the first request runs, 409 `idempotency.in_flight`. ' +
    'Keys are per caller and expire (`idempotency.ttlSeconds`, 24 h by default).',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
};

const ifMatchParameter = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'The version the update was made from, as answered in `ETag` (`"3"`); a stale one is 409 `resource.version_conflict`. Without it, the last write wins.',
  schema: { type: 'string' },
};

const problemResponse = {
  description: 'Problem details (RFC 9457)',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};

/** An OpenAPI 3.1 document for the given routes, from the same zod schemas the server validates with. */
export function buildOpenApi(routes: readonly RouteDef[], info: OpenApiInfo = {}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const success = String(route.status ?? 200);
    const content =
      route.responseType === 'text'
        ? { 'text/plain': { schema: { type: 'string' } } }
        : route.responseType === 'stream'
          ? { 'text/csv': { schema: { type: 'string' } }, 'application/jsonl': { schema: { type: 'string' } } }
        : route.responseType === 'event-stream'
          ? { 'text/event-stream': { schema: { type: 'string' }, 'x-event-data': schemaOf(route.response, 'output') } }
          : { 'application/json': { schema: schemaOf(route.response, 'output') } };
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags ? [...route.tags] : undefined,
      parameters: [
        ...parametersOf(route.params, 'path'),
        ...parametersOf(route.query, 'query'),
        ...(route.method === 'POST' ? [idempotencyKeyParameter] : []),
        ...(route.versioned ? [ifMatchParameter] : []),
      ],
      requestBody: route.body
        ? { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } }
        : undefined,
      responses: { [success]: { description: 'Success', content }, default: problemResponse },
      security: route.auth === 'public' ? [] : [{ bearer: [] }, { apiKey: [] }],
      'x-permission': route.permission,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title ?? 'Plinth API', version: info.version ?? '0.0.0', description: info.description },
    paths,
    components: {
      schemas: { Problem: schemaOf(problemSchema, 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}
