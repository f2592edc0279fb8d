import { defineRoute, kernelRoutes } from '@plinth/core/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createClient, createRouteClient, isPlinthApiError, PlinthApiError, type PlinthClient } from './index.js';
import { createClient as createNodeClient } from './node.js';
import { closedPortUrl, startTestApp, type TestApp, widgetRoutes } from './test-app.js';

/** The rejection of `promise`, which must be a PlinthApiError. */
async function failure(promise: Promise<unknown>): Promise<PlinthApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PlinthApiError);
  return error as PlinthApiError;
}

describe('client against a real Plinth server', () => {
  let app: TestApp;
  let client: PlinthClient<typeof widgetRoutes>;

  beforeAll(async () => {
    app = await startTestApp();
    client = createClient({ baseUrl: app.url, routes: widgetRoutes });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('reads health, readiness, metrics and the OpenAPI document as the server serves them', async () => {
    expect(await client.health()).toEqual({ status: 'ok' });

    const ready = await client.ready();
    expect(ready.status).toBe('ok');
    expect(ready.checks.database?.ok).toBe(true);

    const metrics = await client.metrics();
    expect(typeof metrics).toBe('string');
    expect(metrics).toContain('# HELP');
    // Prometheus text, as served (not parsed as JSON): the health call above is already counted.
    expect(metrics).toMatch(/^plinth_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1$/m);

    const openapi = await client.openapi();
    expect(openapi).toEqual(await (await fetch(`${app.url}/openapi.json`)).json());
    expect(openapi).toMatchObject({ openapi: '3.1.0', paths: { '/healthz': { get: { operationId: 'health' } } } });
  });

  it('calls routes from a route table by key, and any route through call()', async () => {
    const created = await client.createWidget({ body: { name: 'Sprocket', count: 3 } });
    expect(created).toEqual({ id: 'w1', name: 'Sprocket', count: 3 });

    const ops = createRouteClient(kernelRoutes, { baseUrl: `${app.url}/` });
    expect(await ops.health()).toEqual({ status: 'ok' });
    expect(await client.call(kernelRoutes.health)).toEqual({ status: 'ok' });
    expect(client.baseUrl).toBe(app.url);
  });

  it('sends path params encoded, so an id with a space and a slash arrives intact', async () => {
    const id = 'a b/c?d#e%f';
    const answer = await client.getWidget({ params: { id }, query: { q: 'x & y=z+1', tag: ['red', 'blue'], limit: 5 } });
    expect(answer).toEqual({ id, q: 'x & y=z+1', tags: ['red', 'blue'], limit: 5 });
  });

  it('serializes arrays as repeated keys and leaves undefined values out', async () => {
    expect(await client.getWidget({ params: { id: 'one' }, query: { tag: ['only'], q: undefined } })).toEqual({ id: 'one', tags: ['only'] });
    expect(await client.getWidget({ params: { id: 'two' } })).toEqual({ id: 'two', tags: [] });
  });

  it('resolves a 204 answer to undefined', async () => {
    expect(await client.deleteWidget({ params: { id: 'w1' } })).toBeUndefined();
  });

  it('rejects an unknown route with PlinthApiError 404 route.not_found and the request id', async () => {
    const missing = defineRoute({ auth: 'public', method: 'GET', path: '/v1/nothing-here', operationId: 'nothing', summary: 'Not served.', response: z.object({}) });
    const error = await failure(client.call(missing));
    expect(error.status).toBe(404);
    expect(error.code).toBe('route.not_found');
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.problem).toMatchObject({ status: 404, code: 'route.not_found', instance: '/v1/nothing-here' });
    expect(error.message).toBe('No route for GET /v1/nothing-here');
    expect(isPlinthApiError(error)).toBe(true);
  });

  it('sends a caller-chosen request id, which the server echoes in its problem', async () => {
    const missing = defineRoute({ auth: 'public', method: 'GET', path: '/v1/nope', operationId: 'nope', summary: 'Not served.', response: z.object({}) });
    const error = await failure(client.call(missing, undefined, { requestId: 'req-123' }));
    expect(error.requestId).toBe('req-123');
  });

  it('rejects a body that fails validation with 422 validation.failed and field errors', async () => {
    const error = await failure(client.createWidget({ body: { name: '', count: 1.5 } }));
    expect(error.status).toBe(422);
    expect(error.code).toBe('validation.failed');
    expect(error.detail).toBe('The request body is invalid');
    expect(error.errors.map((e) => e.path).sort()).toEqual(['body.count', 'body.name']);
    expect(error.errors[0]).toEqual({ path: expect.any(String), message: expect.any(String), code: expect.any(String) });
  });

  it('turns a connection to a closed port into status 0 network.error, keeping the cause', async () => {
    const url = await closedPortUrl();
    const error = await failure(createClient({ baseUrl: url }).health());
    expect(error.status).toBe(0);
    expect(error.code).toBe('network.error');
    expect(error.message).toBe(`Could not reach ${url} (connection refused)`);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('gives up after timeoutMs with network.timeout', async () => {
    const started = performance.now();
    // A timed-out GET is retried by default; with retry off, the first timeout is the answer.
    const error = await failure(client.call(widgetRoutes.slow, { query: { ms: 500 } }, { timeoutMs: 50, retry: false }));
    expect(error.status).toBe(0);
    expect(error.code).toBe('network.timeout');
    expect(error.message).toBe(`No answer from ${app.url} within 50 ms`);
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('rejects with network.aborted when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = client.call(widgetRoutes.slow, { query: { ms: 300 } }, { signal: controller.signal });
    controller.abort();
    const error = await failure(pending);
    expect(error.code).toBe('network.aborted');
  });

  it('sends accept: application/json and the client and call headers', async () => {
    const seen: Record<string, string>[] = [];
    const spy = createClient({
      baseUrl: app.url,
      headers: async () => ({ authorization: 'Bearer t1', 'x-skip': undefined }),
      fetch: (url, init) => {
        seen.push(init.headers);
        return fetch(url, init);
      },
    });
    await spy.health(undefined, { headers: { 'X-Extra': '1' } });
    expect(seen[0]).toEqual({ accept: 'application/json, application/problem+json', authorization: 'Bearer t1', 'x-extra': '1' });
  });

  it('sends idempotencyKey as Idempotency-Key: a retried POST is replayed by the server', async () => {
    const seen: string[] = [];
    const spy = createClient({
      baseUrl: app.url,
      routes: widgetRoutes,
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        seen.push(`${init.headers['idempotency-key']} ${res.headers.get('idempotent-replayed')}`);
        return res;
      },
    });
    const key = crypto.randomUUID();
    const first = await spy.createWidget({ body: { name: 'Gear', count: 1 } }, { idempotencyKey: key });
    expect(await spy.call(widgetRoutes.createWidget, { body: { name: 'Gear', count: 1 } }, { idempotencyKey: key })).toEqual(first);
    expect(seen).toEqual([`${key} null`, `${key} true`]);
    const invalid = await failure(client.createWidget({ body: { name: 'Gear', count: 1 } }, { idempotencyKey: 'x'.repeat(256) }));
    expect(invalid.code).toBe('idempotency.invalid_key');
  });

  it('sends ifMatch as If-Match, quoting a version number', async () => {
    const seen: Record<string, string>[] = [];
    const spy = createClient({
      baseUrl: app.url,
      fetch: (url, init) => {
        seen.push(init.headers);
        return fetch(url, init);
      },
    });
    await spy.health(undefined, { ifMatch: 3 });
    await spy.health(undefined, { ifMatch: '*' });
    expect(seen.map((h) => h['if-match'])).toEqual(['"3"', '*']);
  });

  it('works over undici with the node entry', async () => {
    const nodeClient = createNodeClient({ baseUrl: app.url, routes: widgetRoutes });
    expect(await nodeClient.health()).toEqual({ status: 'ok' });
    expect(await nodeClient.getWidget({ params: { id: 'x/y' } })).toEqual({ id: 'x/y', tags: [] });
    const error = await failure(nodeClient.createWidget({ body: { name: 'ok', count: 0.5 } }));
    expect(error.code).toBe('validation.failed');
    const refused = await failure(createNodeClient({ baseUrl: await closedPortUrl() }).health());
    expect(refused.code).toBe('network.error');
  });
});

describe('client without a Plinth server', () => {
  const answer =
    (status: number, body: string, headers: Record<string, string> = {}) =>
    async () =>
      new Response(body, { status, headers });

  it('turns a non-problem error body into http.<status> with a readable message', async () => {
    const html = createClient({ baseUrl: 'http://api.test', fetch: answer(502, '<html>Bad gateway</html>', { 'content-type': 'text/html', 'x-request-id': 'edge-1' }) });
    const error = await failure(html.health());
    expect(error).toMatchObject({ status: 502, code: 'http.502', requestId: 'edge-1', errors: [] });
    expect(error.message).toBe('The server answered 502');
    expect(error.message).not.toContain('<html>');

    const json = createClient({ baseUrl: 'http://api.test', fetch: answer(500, '{"message":"upstream exploded"}') });
    const jsonError = await failure(json.health());
    expect(jsonError.code).toBe('http.500');
    expect(jsonError.message).toBe('upstream exploded');
    expect(jsonError.problem.body).toEqual({ message: 'upstream exploded' });
  });

  it('rejects a 2xx answer that is not JSON with response.malformed', async () => {
    const client = createClient({ baseUrl: 'http://api.test', fetch: answer(200, 'not json') });
    expect((await failure(client.health())).code).toBe('response.malformed');
  });

  it('checks its options once, at creation', () => {
    expect(() => createClient({ baseUrl: 'not a url' })).toThrow(TypeError);
    expect(() => createClient({ baseUrl: 'ftp://example.com' })).toThrow(/http/);
    expect(() => createClient({ baseUrl: 'http://a.test', timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(() => createClient({ baseUrl: 'http://a.test', routes: { call: kernelRoutes.health } })).toThrow(/taken/);
  });

  it('keeps a base path prefix and refuses a missing path parameter', async () => {
    const urls: string[] = [];
    const client = createClient({
      baseUrl: 'http://api.test/plinth/',
      routes: widgetRoutes,
      fetch: async (url) => {
        urls.push(url);
        return new Response('{"status":"ok"}', { status: 200 });
      },
    });
    await client.health();
    expect(urls).toEqual(['http://api.test/plinth/healthz']);
    await expect(client.getWidget({ params: { id: '' } })).rejects.toThrow(/"id"/);
  });
});
