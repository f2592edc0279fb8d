/**
 * W3C trace context from a request to the outbox event it commits, to the
 * job the event becomes, and on to what that job emits.
 */
import { createPlinth, createWorker, defineModule, implement, type JobContext } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createTestDatabase, dialects } from '@plinth/core/testing';
import { createServer } from '@plinth/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const noteRoute = defineRoute({
  auth: 'public',
  method: 'POST',
  path: '/v1/notes',
  operationId: 'createNote',
  summary: 'Create a note.',
  body: z.object({ text: z.string() }),
  response: z.object({ id: z.string() }),
  status: 201,
});

function notesModule(seen: { trace: JobContext['trace']; type: string }[]) {
  return defineModule({
    name: 'notes',
    events: { 'note.created': z.object({ id: z.string() }), 'note.indexed': z.object({ id: z.string() }) },
    jobs: {
      'notes.index': {
        handler: async (ctx: JobContext) => {
          seen.push({ trace: ctx.trace, type: 'notes.index' });
          const { id } = (ctx.payload as { payload: { id: string } }).payload;
          await ctx.kernel.transaction(async (tx) => {
            await tx.emit({ type: 'note.indexed', aggregate: { type: 'note', id }, payload: { id } });
          });
        },
      },
      'notes.after': {
        handler: async (ctx: JobContext) => {
          seen.push({ trace: ctx.trace, type: 'notes.after' });
        },
      },
    },
    subscribers: { 'note.created': 'notes.index', 'note.indexed': 'notes.after' },
    routes: [
      implement(noteRoute, async ({ kernel, body }) => {
        const id = kernel.ids.next();
        await kernel.transaction(async (tx) => {
          await tx.emit({ type: 'note.created', aggregate: { type: 'note', id }, payload: { id } });
        });
        await kernel.jobs.enqueue('notes.after', { direct: body.text });
        return { id };
      }),
    ],
  });
}

describe.each(dialects)('trace context through the outbox and jobs on %s', (dialect) => {
  it('stores the request traceparent on the event and the jobs; the jobs continue the same trace', async () => {
    const db = await createTestDatabase(dialect);
    cleanups.push(() => db.drop());
    const seen: { trace: JobContext['trace']; type: string }[] = [];
    const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', builtins: false, modules: [notesModule(seen)] });
    await plinth.start();
    const server = createServer(plinth, { host: '127.0.0.1', port: 0 });
    const { url } = await server.listen();
    cleanups.push(() => server.close());

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${url}/v1/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ text: 'hello' }),
    });
    expect(res.status).toBe(201);
    const [event] = await plinth.db.selectFrom('plinth_outbox').select(['type', 'traceparent']).execute();
    expect(event?.type).toBe('note.created');
    // The request's own span (not the caller's) is the parent of what it wrote.
    expect(event?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(event?.traceparent).not.toContain('00f067aa0ba902b7');
    const [direct] = await plinth.db.selectFrom('plinth_jobs').select(['type', 'traceparent']).execute();
    expect(direct).toEqual({ type: 'notes.after', traceparent: event?.traceparent });

    // Nothing dispatches yet: the outbox lag shows on /metrics.
    const scraped = await (await fetch(`${url}/metrics`)).text();
    expect(scraped).toContain('plinth_outbox_pending 1');
    expect(scraped).toMatch(/plinth_outbox_lag_seconds \d/);

    const worker = createWorker(plinth, { concurrency: 2 });
    await worker.start();
    cleanups.push(() => worker.stop());
    const deadline = Date.now() + 20_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen.map((s) => s.type).sort()).toEqual(['notes.after', 'notes.after', 'notes.index']);
    for (const s of seen) {
      expect(s.trace?.traceId).toBe(traceId);
      expect(s.trace?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    }
    // The event the job emitted carries the job's span onward.
    const indexed = await plinth.db.selectFrom('plinth_outbox').select('traceparent').where('type', '=', 'note.indexed').executeTakeFirst();
    expect(indexed?.traceparent).toBe(seen.find((s) => s.type === 'notes.index')?.trace?.traceparent);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('plinth_outbox_lag_seconds 0');
  });

  it('leaves the columns empty without a trace (a write outside any request)', async () => {
    const db = await createTestDatabase(dialect);
    cleanups.push(() => db.drop());
    const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', builtins: false, modules: [notesModule([])] });
    cleanups.push(() => plinth.close());
    await plinth.start();
    await plinth.transaction(async (tx) => {
      await tx.emit({ type: 'note.created', aggregate: { type: 'note', id: 'n1' }, payload: { id: 'n1' } });
    });
    const row = await plinth.db.selectFrom('plinth_outbox').select('traceparent').executeTakeFirst();
    expect(row?.traceparent).toBeNull();
  });
});
