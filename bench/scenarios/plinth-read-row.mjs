/**
 * Plinth reading one row by primary key through a module route: router,
 * params validation, handler, Kysely query on the SQLite connection, response
 * validation. Its floor is raw-sqlite-read-row (same rows, same JSON).
 */
import { join } from 'node:path';
import { createPlinth, defineModule, implement, PlinthError } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createServer } from '@plinth/server';
import { rowBatches, TABLE, toItem, benchRow } from '../lib/rows.mjs';
import { z } from '../lib/zod.mjs';

export const summary = 'Plinth GET /v1/bench-items/:id (Kysely on SQLite)';

const item = z.object({ id: z.number().int(), sku: z.string(), name: z.string(), priceCents: z.number().int(), createdAt: z.string() });

const getItem = defineRoute({
  auth: 'public',
  method: 'GET',
  path: '/v1/bench-items/:id',
  operationId: 'getBenchItem',
  summary: 'One bench item by id.',
  params: z.object({ id: z.coerce.number().int().positive() }),
  response: item,
});

const benchModule = defineModule({
  name: 'bench',
  migrations: [
    {
      name: '0001-create-bench-items',
      async up(db) {
        await db.schema
          .createTable(TABLE)
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('sku', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('price_cents', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable(TABLE).execute();
      },
    },
  ],
  routes: [
    implement(getItem, async ({ params, kernel }) => {
      const row = await kernel.db
        .selectFrom(TABLE)
        .select(['id', 'sku', 'name', 'price_cents', 'created_at'])
        .where('id', '=', params.id)
        .executeTakeFirst();
      if (!row) throw new PlinthError('resource.not_found', `No bench item ${params.id}`);
      return toItem(row);
    }),
  ],
});

export async function start({ tmpDir, config }) {
  const plinth = createPlinth({
    databaseUrl: `sqlite:${join(tmpDir, 'plinth.db')}`,
    processEnv: false,
    logLevel: 'warn',
    modules: [benchModule],
  });
  await plinth.start();
  await plinth.transaction(async ({ db }) => {
    for (const batch of rowBatches(config.rows)) await db.insertInto(TABLE).values(batch).execute();
  });
  const server = createServer(plinth, { port: 0, host: '127.0.0.1' });
  const { url } = await server.listen();
  const fixed = Math.ceil(config.rows / 2);
  return {
    url,
    target: config.ids === 'random' ? { pathPrefix: '/v1/bench-items/', maxId: config.rows } : { path: `/v1/bench-items/${fixed}` },
    sample: { path: `/v1/bench-items/${fixed}`, body: toItem(benchRow(fixed)) },
    close: () => server.close(),
  };
}
