/**
 * Request id and trace id on every log line: lines written through the module's
 * own logger (`kernel.logger`) or `plinth.logger` while a request is served carry
 * the request's ids, across awaits; a job handler's lines carry the job's id and
 * trace id; lines written outside any request or job carry neither.
 */
import { createLogger, createPlinth, createWorker, defineModule, implement, type JobContext, type KernelContext } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createTestDatabase, dialects } from '@plinth/core/testing';
import { createServer } from '@plinth/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const route = defineRoute({
  auth: 'public',
  method: 'POST',
  path: '/v1/audited-notes',
  operationId: 'createAuditedNote',
  summary: 'Logs through the module logger, then enqueues a job that logs.',
  body: z.object({ text: z.string() }),
  response: z.object({ ok: z.boolean() }),
  status: 201,
});

/** A service of the module: it only knows its kernel, never the request. */
function noteService(kernel: KernelContext) {
  return {
    async save(text: string) {
      kernel.logger.info({ step: 'before' }, 'saving a note');
      await new Promise((resolve) => setImmediate(resolve));
      await kernel.transaction(async () => {
        await kernel.jobs.enqueue('notes.echo', { text });
      });
      kernel.logger.warn({ step: 'after' }, 'note saved');
    },
  };
}

const notes = defineModule({
  name: 'notes',
  services: noteService,
  routes: [
    implement(route, async ({ kernel, body }) => {
      await kernel.service<ReturnType<typeof noteService>>('notes').save(body.text);
      return { ok: true };
    }),
  ],
  jobs: {
    'notes.echo': {
      handler: async (ctx: JobContext) => {
        await Promise.resolve();
        ctx.kernel.logger.info({ payload: ctx.payload }, 'job ran'); // the instance's logger, which knows nothing of the job
      },
    },
  },
});

describe.each(dialects)('request and job ids on log lines (%s)', (dialect) => {
  it('tags the module logger’s lines with the request id and trace id, and a job’s with its id and trace id', async () => {
    const db = await createTestDatabase(dialect);
    cleanups.push(() => db.drop());
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logger, builtins: false, modules: [notes] });
    await plinth.start();
    const server = createServer(plinth, { host: '127.0.0.1', port: 0 });
    const { url } = await server.listen();
    cleanups.push(() => server.close());

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const post = (requestId: string, trace: string) =>
      fetch(`${url}/v1/audited-notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId, traceparent: `00-${trace}-00f067aa0ba902b7-01` },
        body: JSON.stringify({ text: requestId }),
      });
    // Two requests at once: each line carries its own request's ids, not the other's.
    const otherTrace = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const [first, second] = await Promise.all([post('req-one', traceId), post('req-two', otherTrace)]);
    expect([first.status, second.status]).toEqual([201, 201]);
    const byMsg = (msg: string) => lines.filter((l) => l.msg === msg);
    for (const [requestId, trace] of [['req-one', traceId], ['req-two', otherTrace]] as const) {
      expect(byMsg('saving a note').filter((l) => l.requestId === requestId)).toEqual([expect.objectContaining({ module: 'notes', step: 'before', traceId: trace })]);
      expect(byMsg('note saved').filter((l) => l.requestId === requestId)).toEqual([expect.objectContaining({ module: 'notes', step: 'after', traceId: trace })]);
    }
    expect(byMsg('saving a note')).toHaveLength(2);

    // Outside a request: no ids.
    plinth.logger.info('between requests');
    expect(byMsg('between requests')[0]).not.toHaveProperty('requestId');
    expect(byMsg('between requests')[0]).not.toHaveProperty('traceId');

    const jobs = await plinth.db.selectFrom('plinth_jobs').select(['id', 'payload']).execute();
    const worker = createWorker(plinth, { concurrency: 2 });
    await worker.start();
    cleanups.push(() => worker.stop());
    const deadline = Date.now() + 15_000;
    while (byMsg('job ran').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const ran = byMsg('job ran');
    expect(ran).toHaveLength(2);
    for (const line of ran) {
      const text = (line.payload as { text: string }).text;
      const job = jobs.find((j) => JSON.stringify(j.payload).includes(text))!;
      expect(line).toMatchObject({ job: 'notes.echo', jobId: job.id, traceId: text === 'req-one' ? traceId : otherTrace });
      expect(line).not.toHaveProperty('requestId');
    }
  });
});
