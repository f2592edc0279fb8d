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
        : { 'application/json': { schema: schemaOf(route.response, 'output') } };
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags ? [...route.tags] : undefined,
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
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
