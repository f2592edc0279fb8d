/**
 * For the tests: a few contract routes of an imaginary `widgets` module, and a
 * real Plinth server (fresh SQLite database) that implements them.
 */
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { type CreatePlinthOptions, createPlinth, implement, type Plinth } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createTestDatabase } from '@plinth/core/testing';
import { createServer } from '@plinth/server';
import { z } from 'zod';

const widget = z.object({ id: z.string(), name: z.string(), count: z.number().int() });

export const widgetRoutes = {
  createWidget: defineRoute({
    auth: 'public',
    method: 'POST',
    path: '/v1/widgets',
    operationId: 'createWidget',
    summary: 'Create a widget.',
    body: z.object({ name: z.string().min(1), count: z.number().int(), tags: z.array(z.string()).optional() }),
    response: widget,
    status: 201,
  }),
  getWidget: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/widgets/:id',
    operationId: 'getWidget',
    summary: 'Echoes the id and query it received.',
    params: z.object({ id: z.string() }),
    query: z.object({
      q: z.string().optional(),
      tag: z.union([z.string(), z.array(z.string())]).optional(),
      limit: z.coerce.number().int().optional(),
    }),
    response: z.object({ id: z.string(), q: z.string().optional(), tags: z.array(z.string()), limit: z.number().optional() }),
  }),
  deleteWidget: defineRoute({
    auth: 'public',
    method: 'DELETE',
    path: '/v1/widgets/:id',
    operationId: 'deleteWidget',
    summary: 'Deletes nothing, answers 204.',
    params: z.object({ id: z.string() }),
    response: z.undefined(),
    status: 204,
  }),
  slow: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/slow',
    operationId: 'slow',
    summary: 'Answers after `ms` milliseconds.',
    query: z.object({ ms: z.coerce.number().int().max(2000) }),
    response: z.object({ waited: z.number() }),
  }),
} as const;

const implementations = [
  implement(widgetRoutes.createWidget, ({ body }) => ({ id: 'w1', name: body.name, count: body.count })),
  implement(widgetRoutes.getWidget, ({ params, query }) => ({
    id: params.id,
    q: query.q,
    tags: query.tag === undefined ? [] : ([] as string[]).concat(query.tag),
    limit: query.limit,
  })),
  implement(widgetRoutes.deleteWidget, () => undefined),
  implement(widgetRoutes.slow, async ({ query }) => {
    await new Promise((resolve) => setTimeout(resolve, query.ms));
    return { waited: query.ms };
  }),
];

export interface TestApp {
  url: string;
  /** The Plinth instance behind the server (for set-up such as giving a user a role). */
  plinth: Plinth;
  stop(): Promise<void>;
}

/** A real server on a free port, over a fresh SQLite database, with the widget routes mounted. */
export async function startTestApp(options: CreatePlinthOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase('sqlite');
  const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', ...options });
  await plinth.start();
  const server = createServer(plinth, { port: 0, routes: implementations, shutdownTimeoutMs: 1000 });
  const { url } = await server.listen();
  return {
    url,
    plinth,
    async stop() {
      await server.close();
      await db.drop();
    },
  };
}

/** A URL where nothing listens: a port that was free a moment ago. */
export async function closedPortUrl(): Promise<string> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
