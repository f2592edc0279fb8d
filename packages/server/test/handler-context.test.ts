/**
 * What a handler gets besides its input: a request logger, `setHeader`, and
 * the request id and trace context every response carries.
 */
import { createLogger, createPlinth, implement, PlinthError } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { createServer, type PlinthServer } from '@plinth/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { problemOf } from './widgets-app.js';

const ok = z.object({ ok: z.boolean() });
const route = (path: string) => defineRoute({ auth: 'public', method: 'GET', path, operationId: path.replace(/\W/g, ''), summary: path, response: ok });

const routes = [
  implement(route('/v1/logs'), ({ log }) => {
    log.info({ step: 'inside' }, 'handler logged');
    return { ok: true };
  }),
  implement(route('/v1/sets-headers'), ({ setHeader }) => {
    setHeader('X-Custom', 'one');
    setHeader('x-custom', 'two');
    setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    return { ok: true };
  }),
  implement(route('/v1/sets-then-fails'), (ctx) => {
    ctx.setHeader('x-custom', 'never-sent');
    throw new PlinthError('resource.not_found', 'Nothing here');
  }),
  implement(
    defineRoute({ auth: 'public', method: 'GET', path: '/v1/trace', operationId: 'trace', summary: 'trace', response: z.object({ traceparent: z.string() }) }),
    ({ trace }) => ({ traceparent: trace.traceparent }),
  ),
  implement(route('/v1/thenable'), () => ({ then: (resolve: (v: unknown) => void) => resolve({ ok: true }) }) as never),
];

describe('the handler context', () => {
  let db: TestDatabase;
  let server: PlinthServer;
  let url: string;
  const lines: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logger });
    await plinth.start();
    server = createServer(plinth, { host: '127.0.0.1', port: 0, routes });
    ({ url } = await server.listen());
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('gives a handler a logger bound to the request id', async () => {
    const res = await fetch(`${url}/v1/logs`, { headers: { 'x-request-id': 'log-me-1' } });
    expect(res.status).toBe(200);
    const entry = lines.map((line) => JSON.parse(line)).find((e) => e.msg === 'handler logged');
    expect(entry).toMatchObject({ requestId: 'log-me-1', component: 'http', step: 'inside' });
  });

  it('sends headers a handler sets, the last value winning, even over a default', async () => {
    const res = await fetch(`${url}/v1/sets-headers`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-custom')).toBe('two');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('keeps headers a failing handler set out of its problem', async () => {
    const res = await fetch(`${url}/v1/sets-then-fails`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-custom')).toBeNull();
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect((await problemOf(res)).code).toBe('resource.not_found');
  });

  it('awaits a handler that returns a thenable', async () => {
    const res = await fetch(`${url}/v1/thenable`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('gives every response its own trace and span ids, past many requests', async () => {
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const responses = await Promise.all(Array.from({ length: 25 }, () => fetch(`${url}/v1/trace`)));
      for (const res of responses) {
        const { traceparent } = await res.json();
        const [, traceId, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent) ?? [];
        expect(traceId).toBeDefined();
        traces.add(traceId!);
        spans.add(spanId!);
      }
    }
    // 500 requests draw 12,000 random bytes: more than one fill of the pool.
    expect(traces.size).toBe(500);
    expect(spans.size).toBe(500);
  });
});
