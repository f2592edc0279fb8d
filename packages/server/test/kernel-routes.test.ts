import { createPlinth } from '@plinth/core';
import { dialects } from '@plinth/core/testing';
import { createServer, type PlinthServer } from '@plinth/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startApp, type TestApp, widgetsModule } from './widgets-app.js';

describe.each(dialects)('health and readiness on %s', (dialect) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ dialect });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('answers GET /healthz with 200 {status: ok}', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers GET /readyz with 200 and a passing database check', async () => {
    const res = await fetch(`${app.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; latencyMs: number }> };
    expect(body.status).toBe('ok');
    expect(body.checks.database).toEqual({ ok: true, latencyMs: expect.any(Number) });
    expect(body.checks.redis).toBeUndefined();
  });

  it('reports the pool gauge for its dialect in /metrics', async () => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    expect(text).toMatch(new RegExp(`plinth_db_pool_connections\\{state="total",dialect="${dialect}"\\} \\d+`));
  });
});

describe('readiness with Redis configured on a closed port', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ redisUrl: 'redis://127.0.0.1:1' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('answers GET /readyz with 503 service.unavailable and the checks', async () => {
    const res = await fetch(`${app.url}/readyz`, { headers: { 'x-request-id': 'req-ready' } });
    expect(res.status).toBe(503);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ status: 503, code: 'service.unavailable', requestId: 'req-ready', title: 'Service Unavailable' });
    expect(problem.checks.database).toMatchObject({ ok: true });
    expect(problem.checks.redis).toMatchObject({ ok: false, error: expect.any(String) });
  });

  it('stays live while not ready', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('readiness with the database unreachable', () => {
  let server: PlinthServer;
  let url: string;
  beforeAll(async () => {
    const plinth = createPlinth({
      databaseUrl: 'postgres://postgres:s3cret-pw@127.0.0.1:1/plinth_nowhere',
      processEnv: false,
      logLevel: 'silent',
      modules: [widgetsModule({ wait: async () => {} })],
    });
    server = createServer(plinth, { host: '127.0.0.1', port: 0 });
    ({ url } = await server.listen());
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers GET /readyz with 503 and a failing database check that leaks no URL', async () => {
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.clone().text();
    const problem = await problemOf(res);
    expect(problem.code).toBe('service.unavailable');
    expect(problem.checks.database).toMatchObject({ ok: false, error: expect.any(String) });
    for (const leak of ['s3cret-pw', 'plinth_nowhere', 'postgres://']) expect(text).not.toContain(leak);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('answers a route that needs the database with 503 storage.unavailable, not 500', async () => {
    const res = await fetch(`${url}/v1/widgets/abc`);
    expect(res.status).toBe(503);
    const text = await res.clone().text();
    expect(await problemOf(res)).toMatchObject({ code: 'storage.unavailable', requestId: expect.any(String) });
    expect(text).not.toContain('s3cret-pw');
    expect(text).not.toContain('ECONNREFUSED');
  });
});

describe('readiness with a reachable Redis', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ redisUrl: 'redis://127.0.0.1:6379' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('answers GET /readyz with 200 and both checks', async () => {
    const res = await fetch(`${app.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.redis?.ok).toBe(true);
  });
});

describe('metrics and OpenAPI', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('serves Prometheus text with request counts by route pattern, latency and pool gauges', async () => {
    await fetch(`${app.url}/v1/widgets/first-id`);
    await fetch(`${app.url}/v1/widgets/second-id`);
    await fetch(`${app.url}/v1/does-not-exist/12345`);
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE plinth_http_requests_total counter');
    expect(text).toMatch(/plinth_http_requests_total\{method="GET",route="\/v1\/widgets\/:id",status="404"\} 2/);
    expect(text).not.toContain('first-id');
    expect(text).not.toContain('second-id');
    // Unknown paths are not labelled by their raw path: that would let callers blow up cardinality.
    expect(text).not.toContain('does-not-exist');
    expect(text).toMatch(/plinth_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).toContain('# TYPE plinth_http_request_duration_seconds histogram');
    expect(text).toMatch(/plinth_http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/v1\/widgets\/:id",status="404"\} \d+/);
    expect(text).toMatch(/plinth_http_request_duration_seconds_count\{method="GET",route="\/v1\/widgets\/:id",status="404"\} 2/);
    expect(text).toMatch(/plinth_db_pool_connections\{state="(total|idle|waiting)",dialect="sqlite"\} \d+/);
    expect(text).toContain('plinth_process_cpu_user_seconds_total');
  });

  it('serves /openapi.json generated from the routes', async () => {
    const res = await fetch(`${app.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/openapi.json', '/v1/widgets', '/v1/widgets/{id}']),
    );
    expect(Object.keys(doc.paths)).not.toContain('/v1/widgets/:id');

    const get = doc.paths['/v1/widgets/{id}'].get;
    expect(get.operationId).toBe('getWidget');
    expect(get.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(get.responses.default.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(doc.paths['/v1/widgets/{id}'].delete.responses['204']).toBeDefined();

    const create = doc.paths['/v1/widgets'].post;
    const bodySchema = create.requestBody.content['application/json'].schema;
    expect(create.requestBody.required).toBe(true);
    expect(bodySchema.type).toBe('object');
    expect(bodySchema.properties.name).toMatchObject({ type: 'string', minLength: 1 });
    expect(bodySchema.properties.count).toMatchObject({ type: 'integer' });
    expect(bodySchema.required).toEqual(expect.arrayContaining(['name', 'count']));
    expect(create.responses['201'].content['application/json'].schema.properties).toHaveProperty('id');
    expect(create.responses['201'].content['application/json'].schema.properties).not.toHaveProperty('secret_note');

    const list = doc.paths['/v1/widgets'].get;
    expect(list.parameters).toEqual([
      expect.objectContaining({ name: 'limit', in: 'query', required: false, schema: expect.objectContaining({ maximum: 100 }) }),
    ]);

    expect(doc.paths['/metrics'].get.responses['200'].content).toHaveProperty('text/plain');
    const problem = doc.components.schemas.Problem;
    expect(problem.properties).toEqual(expect.objectContaining({ code: expect.any(Object), status: expect.any(Object), errors: expect.any(Object) }));
    expect(problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'code']));
  });
});
