/**
 * The OpenTelemetry hook: with a tracer provider registered through
 * `@opentelemetry/api`, each request gets a SERVER span continuing the
 * caller's `traceparent`, and what the request writes is parented to it.
 * (A tiny recording provider stands in for an SDK and its exporter.)
 */
import { randomBytes } from 'node:crypto';
import { type Context, type Span, type SpanOptions, trace, type Tracer } from '@opentelemetry/api';
import { createPlinth, defineModule, implement } from '@plinth/core';
import { defineRoute } from '@plinth/core/contract';
import { createTestDatabase } from '@plinth/core/testing';
import { createServer } from '@plinth/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

interface Recorded {
  name: string;
  kind: number | undefined;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  ended: boolean;
}

function recordingProvider(spans: Recorded[]) {
  const tracer: Tracer = {
    startSpan(name: string, options: SpanOptions = {}, ctx?: Context): Span {
      const parent = ctx ? trace.getSpanContext(ctx) : undefined;
      const record: Recorded = {
        name,
        kind: options.kind,
        traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        parentSpanId: parent?.spanId,
        attributes: { ...options.attributes },
        ended: false,
      };
      spans.push(record);
      const span: Span = {
        spanContext: () => ({ traceId: record.traceId, spanId: record.spanId, traceFlags: 1 }),
        setAttribute: (k, v) => ((record.attributes[k] = v), span),
        setAttributes: (a) => (Object.assign(record.attributes, a), span),
        addEvent: () => span,
        addLink: () => span,
        addLinks: () => span,
        setStatus: () => span,
        updateName: () => span,
        end: () => {
          record.ended = true;
        },
        isRecording: () => true,
        recordException: () => {},
      };
      return span;
    },
    startActiveSpan: (() => {
      throw new Error('not used');
    }) as never,
  };
  return { getTracer: () => tracer };
}

const pingRoute = defineRoute({
  auth: 'public',
  method: 'POST',
  path: '/v1/pings',
  operationId: 'ping',
  summary: 'Record a ping.',
  body: z.object({}),
  response: z.object({ traceparent: z.string() }),
  status: 201,
});

const pingModule = defineModule({
  name: 'pings',
  events: { 'ping.sent': z.object({}) },
  routes: [
    implement(pingRoute, async ({ kernel, trace: t }) => {
      await kernel.transaction(async (tx) => {
        await tx.emit({ type: 'ping.sent', payload: {} });
      });
      return { traceparent: t.traceparent };
    }),
  ],
});

describe('OpenTelemetry hook', () => {
  const spans: Recorded[] = [];
  beforeAll(() => {
    trace.setGlobalTracerProvider(recordingProvider(spans));
  });
  afterAll(() => {
    trace.disable();
  });

  it('creates a SERVER span per request, child of the caller, and parents the outbox event to it', async () => {
    const db = await createTestDatabase('sqlite');
    const plinth = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', builtins: false, modules: [pingModule] });
    await plinth.start();
    const server = createServer(plinth, { host: '127.0.0.1', port: 0 });
    const { url } = await server.listen();
    try {
      await new Promise((r) => setTimeout(r, 50)); // the API loads asynchronously
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const res = await fetch(`${url}/v1/pings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-b7ad6b7169203331-01` },
        body: '{}',
      });
      expect(res.status).toBe(201);
      const { traceparent } = (await res.json()) as { traceparent: string };
      const span = spans.find((s) => s.name === 'POST /v1/pings');
      expect(span).toMatchObject({ kind: 1, traceId, parentSpanId: 'b7ad6b7169203331', ended: true });
      expect(span?.attributes).toMatchObject({ 'http.route': '/v1/pings', 'http.response.status_code': 201 });
      expect(traceparent).toBe(`00-${traceId}-${span?.spanId}-01`);
      const row = await plinth.db.selectFrom('plinth_outbox').select('traceparent').executeTakeFirst();
      expect(row?.traceparent).toBe(traceparent);
    } finally {
      await server.close();
      await db.drop();
    }
  });
});
