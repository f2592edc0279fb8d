/**
 * A small application used by the HTTP suites: a `widgets` module with a
 * migration, CRUD routes and a few routes that misbehave on purpose, plus a
 * helper that starts a real server on a fresh test database.
 */
import { createPlinth, defineModule, implement, PlinthError, type Plinth } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createTestDatabase, type TestDatabase, type TestDialect } from '@plinth/core/testing';
import { createServer, type PlinthServer, type ServerOptions } from '@plinth/server';
import { z } from 'zod';

export const SECRET = 'password=hunter2';
export const FAKE_SQL = `select * from users where email = 'a@b.c' and ${SECRET}`;

/** A `widgets` row; `secret_note` is deliberately not part of any response contract. */
interface WidgetRow {
  id: string;
  name: string;
  count: number;
  secret_note: string;
}

const widget = z.object({ id: z.string(), name: z.string(), count: z.number().int() });

export const widgetRoutes = {
  create: defineRoute({
    auth: 'public',
    method: 'POST',
    path: '/v1/widgets',
    operationId: 'createWidget',
    summary: 'Create a widget.',
    body: z.object({ name: z.string().min(1), count: z.number().int() }),
    response: widget,
    status: 201,
  }),
  list: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/widgets',
    operationId: 'listWidgets',
    summary: 'List widgets.',
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
    response: z.object({ items: z.array(widget), limit: z.number() }),
  }),
  get: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/widgets/:id',
    operationId: 'getWidget',
    summary: 'Read one widget.',
    params: z.object({ id: z.string() }),
    response: widget,
  }),
  put: defineRoute({
    auth: 'public',
    method: 'PUT',
    path: '/v1/widgets/:id',
    operationId: 'putWidget',
    summary: 'Create a widget under a chosen id (insert only).',
    params: z.object({ id: z.string().min(1).max(64) }),
    body: z.object({ name: z.string().min(1), count: z.number().int() }),
    response: widget,
    status: 201,
  }),
  remove: defineRoute({
    auth: 'public',
    method: 'DELETE',
    path: '/v1/widgets/:id',
    operationId: 'deleteWidget',
    summary: 'Delete one widget.',
    params: z.object({ id: z.string() }),
    response: z.undefined(),
    status: 204,
  }),
  echoQuery: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/echo-query',
    operationId: 'echoQuery',
    summary: 'Echoes free-form query filters.',
    query: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    response: z.object({ query: z.record(z.string(), z.union([z.string(), z.array(z.string())])) }),
  }),
  trace: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/trace',
    operationId: 'trace',
    summary: "Echoes the request's trace context.",
    response: z.object({ traceId: z.string(), spanId: z.string(), parentId: z.string().nullable(), traceparent: z.string() }),
  }),
  boom: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/boom',
    operationId: 'boom',
    summary: 'Throws a plain Error with secrets in it.',
    response: z.object({ ok: z.boolean() }),
  }),
  badSql: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/bad-sql',
    operationId: 'badSql',
    summary: 'Runs a query against a table that does not exist.',
    response: z.object({ ok: z.boolean() }),
  }),
  leaky: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/leaky',
    operationId: 'leaky',
    summary: 'Returns more than its contract declares.',
    response: z.object({ id: z.string(), name: z.string() }),
  }),
  slow: defineRoute({
    auth: 'public',
    method: 'GET',
    path: '/v1/slow',
    operationId: 'slow',
    summary: 'Waits for the test to release it.',
    response: z.object({ done: z.boolean() }),
  }),
} as const;

/** A gate the slow route waits on; tests open it when they are ready. */
export interface Gate {
  /** Resolves once the slow handler has been entered `n` times in total. */
  entered(n?: number): Promise<void>;
  open(): void;
}

function createGate(): Gate & { wait(): Promise<void> } {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  let count = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    async wait() {
      count++;
      for (const w of waiters.filter((w) => count >= w.n)) w.resolve();
      await opened;
    },
    entered(n = 1) {
      if (count >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    open: () => release(),
  };
}

export function widgetsModule(gate: { wait(): Promise<void> }) {
  return defineModule({
    name: 'widgets',
    migrations: [
      {
        name: '0001-create-widgets',
        async up(db) {
          await db.schema
            .createTable('widgets')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('name', 'text', (c) => c.notNull())
            .addColumn('count', 'integer', (c) => c.notNull())
            .addColumn('secret_note', 'text', (c) => c.notNull())
            .execute();
        },
        async down(db) {
          await db.schema.dropTable('widgets').execute();
        },
      },
    ],
    routes: [
      implement(widgetRoutes.create, async ({ body, kernel }) => {
        const row: WidgetRow = { id: kernel.ids.next(), name: body.name, count: body.count, secret_note: SECRET };
        await kernel.db.insertInto('widgets').values(row).execute();
        // The row carries a column the contract does not declare: the server must strip it.
        return row;
      }),
      implement(widgetRoutes.list, async ({ query, kernel }) => {
        const items = (await kernel.db.selectFrom('widgets').selectAll().orderBy('id').limit(query.limit).execute()) as WidgetRow[];
        return { items, limit: query.limit };
      }),
      implement(widgetRoutes.get, async ({ params, kernel }) => {
        const row = (await kernel.db.selectFrom('widgets').selectAll().where('id', '=', params.id).executeTakeFirst()) as WidgetRow | undefined;
        if (!row) throw new PlinthError('resource.not_found', `No widget ${params.id}`);
        return row;
      }),
      implement(widgetRoutes.put, async ({ params, body, kernel }) => {
        const row: WidgetRow = { id: params.id, name: body.name, count: body.count, secret_note: SECRET };
        await kernel.db.insertInto('widgets').values(row).execute();
        return row;
      }),
      implement(widgetRoutes.remove, async ({ params, kernel }) => {
        const result = await kernel.db.deleteFrom('widgets').where('id', '=', params.id).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) throw new PlinthError('resource.not_found', `No widget ${params.id}`);
        return undefined;
      }),
      implement(widgetRoutes.echoQuery, ({ query }) => ({ query })),
      implement(widgetRoutes.trace, ({ trace }) => ({ ...trace, parentId: trace.parentId ?? null })),
      implement(widgetRoutes.boom, () => {
        throw new Error(`query failed: ${FAKE_SQL}`);
      }),
      implement(widgetRoutes.badSql, async ({ kernel }) => {
        await kernel.db.selectFrom('no_such_table').selectAll().where('password', '=', 'hunter2').execute();
        return { ok: true };
      }),
      implement(widgetRoutes.leaky, () => ({ id: 'w1', name: 'Leaky', passwordHash: '$argon2id$secret', internal: { sql: FAKE_SQL } }) as never),
      implement(widgetRoutes.slow, async () => {
        await gate.wait();
        return { done: true };
      }),
    ],
  });
}

export interface TestApp {
  plinth: Plinth;
  server: PlinthServer;
  url: string;
  db: TestDatabase;
  gate: Gate;
  /** Number of rows in `widgets`. */
  widgetCount(): Promise<number>;
  /** Closes the server (idempotent) and drops the database. */
  stop(): Promise<void>;
}

export interface StartOptions extends Omit<ServerOptions, 'port'> {
  dialect?: TestDialect;
  redisUrl?: string;
}

/** A real Plinth server on a fresh database, listening on a free port. */
export async function startApp(options: StartOptions = {}): Promise<TestApp> {
  const { dialect = 'sqlite', redisUrl, ...serverOptions } = options;
  const db = await createTestDatabase(dialect);
  const gate = createGate();
  const plinth = createPlinth({ databaseUrl: db.url, redisUrl, processEnv: false, logLevel: 'silent', builtins: false, modules: [widgetsModule(gate)] });
  try {
    // With an unreachable Redis, start() would fail connecting: migrate only, let readiness report it.
    await plinth.start();
  } catch (error) {
    if (!redisUrl) {
      await plinth.close();
      await db.drop();
      throw error;
    }
  }
  const server = createServer(plinth, { host: '127.0.0.1', port: 0, ...serverOptions });
  const { url } = await server.listen();
  let stopped: Promise<void> | undefined;
  return {
    plinth,
    server,
    url,
    db,
    gate,
    async widgetCount() {
      const row = await plinth.db.selectFrom('widgets').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    stop() {
      stopped ??= (async () => {
        gate.open();
        try {
          await server.close();
        } finally {
          await plinth.close();
          await db.drop();
        }
      })();
      return stopped;
    },
  };
}

/** The problem document of a response, after checking it is one. */
export async function problemOf(res: Response): Promise<Record<string, any>> {
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (!type.startsWith('application/problem+json')) throw new Error(`expected a problem, got ${res.status} ${type}: ${text}`);
  return JSON.parse(text) as Record<string, any>;
}
