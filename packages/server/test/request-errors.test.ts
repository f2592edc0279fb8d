import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunk, lastChunk, rawRequest } from './raw-http.js';
import { problemOf, SECRET, startApp, type TestApp } from './widgets-app.js';

const BODY_LIMIT = 256;

describe('bad requests get a 4xx problem and change nothing', () => {
  let app: TestApp;
  let host: string;
  beforeAll(async () => {
    app = await startApp({ bodyLimit: BODY_LIMIT });
    host = new URL(app.url).host;
  });
  afterAll(async () => {
    await app?.stop();
  });

  const post = (body: string, contentType = 'application/json', requestId?: string) =>
    fetch(`${app.url}/v1/widgets`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(requestId ? { 'x-request-id': requestId } : {}) },
      body,
    });

  it('answers malformed JSON with 400 request.malformed_json', async () => {
    const before = await app.widgetCount();
    for (const body of ['{"name":', '{name: "x", count: 1}', "{'name':'x'}", '{"name":"x","count":1}}']) {
      const res = await post(body, 'application/json', 'req-json');
      expect(res.status, body).toBe(400);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ status: 400, code: 'request.malformed_json', requestId: 'req-json', instance: '/v1/widgets' });
      expect(problem.title).toBe('Bad Request');
    }
    expect(await app.widgetCount()).toBe(before);
  });

  it('accepts application/json with a charset and +json media types', async () => {
    const a = await post(JSON.stringify({ name: 'a', count: 1 }), 'application/json; charset=utf-8');
    expect(a.status).toBe(201);
    const b = await post(JSON.stringify({ name: 'b', count: 2 }), 'application/vnd.plinth+json');
    expect(b.status).toBe(201);
  });

  it('answers a body with another media type with 415', async () => {
    const before = await app.widgetCount();
    const valid = JSON.stringify({ name: 'x', count: 1 });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', 'multipart/form-data; boundary=x']) {
      const res = await post(valid, type);
      expect(res.status, type).toBe(415);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ status: 415, code: 'request.unsupported_media_type', requestId: expect.any(String) });
    }
    // No content-type at all.
    const raw = await rawRequest(app.url, `POST /v1/widgets HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${valid.length}`, [valid]);
    expect(raw.status).toBe(415);
    expect(raw.headers['content-type']).toBe('application/problem+json');
    expect(raw.json().code).toBe('request.unsupported_media_type');
    expect(await app.widgetCount()).toBe(before);
  });

  it('answers a body over the limit with 413, declared by Content-Length', async () => {
    const before = await app.widgetCount();
    const big = JSON.stringify({ name: 'x'.repeat(BODY_LIMIT * 4), count: 1 });
    const res = await post(big, 'application/json', 'req-413');
    expect(res.status).toBe(413);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ status: 413, code: 'request.body_too_large', requestId: 'req-413', limit: BODY_LIMIT });
    expect(await app.widgetCount()).toBe(before);
  });

  it('answers 413 on a Content-Length over the limit before any body arrives', async () => {
    const res = await rawRequest(app.url, `POST /v1/widgets HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: 10000000`);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers.connection).toBe('close');
    expect(res.json()).toMatchObject({ code: 'request.body_too_large', requestId: expect.any(String) });
  });

  it('answers a chunked body over the limit with 413 while streaming', async () => {
    const before = await app.widgetCount();
    const piece = 'x'.repeat(100);
    const res = await rawRequest(
      app.url,
      `POST /v1/widgets HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nx-request-id: req-chunked`,
      [chunk('{"name":"'), chunk(piece), chunk(piece), chunk(piece), chunk(piece), chunk('","count":1}'), lastChunk],
    );
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toMatchObject({ status: 413, code: 'request.body_too_large', requestId: 'req-chunked' });
    expect(await app.widgetCount()).toBe(before);
  });

  it('answers a large streamed body (no Content-Length) with 413 the client can read', async () => {
    const piece = new TextEncoder().encode('z'.repeat(64 * 1024));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 32; i++) controller.enqueue(piece);
        controller.close();
      },
    });
    const res = await fetch(`${app.url}/v1/widgets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe('request.body_too_large');
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });

  it('accepts a chunked body under the limit', async () => {
    const res = await rawRequest(
      app.url,
      `POST /v1/widgets HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked`,
      [chunk('{"name":"chunky",'), chunk('"count":7}'), lastChunk],
    );
    expect(res.status).toBe(201);
    expect(res.json()).toMatchObject({ name: 'chunky', count: 7 });
  });

  it('enforces the limit on routes that take no body too', async () => {
    const res = await rawRequest(
      app.url,
      `GET /v1/widgets HTTP/1.1\r\nhost: ${host}\r\ntransfer-encoding: chunked`,
      [chunk('y'.repeat(BODY_LIMIT)), chunk('y'.repeat(BODY_LIMIT)), lastChunk],
    );
    expect(res.status).toBe(413);
    expect(res.json().code).toBe('request.body_too_large');
    // A small stray body on a GET route is drained and ignored.
    const small = await rawRequest(app.url, `GET /v1/widgets HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 5`, ['hello']);
    expect(small.status).toBe(200);
  });

  it('treats query keys named like Object members as plain data', async () => {
    const res = await fetch(`${app.url}/v1/echo-query?constructor=a&toString=b&hasOwnProperty=c&tag=x&tag=y`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ query: { constructor: 'a', toString: 'b', hasOwnProperty: 'c', tag: ['x', 'y'] } });
    const proto = await fetch(`${app.url}/v1/echo-query?__proto__=z&a=1`);
    expect(proto.status).toBe(200);
    expect(((await proto.json()) as { query: Record<string, unknown> }).query.a).toBe('1');
  });

  it('answers an unknown route with 404 route.not_found', async () => {
    for (const path of ['/nope', '/v1', '/v1/widgets/a/b', '/v2/widgets']) {
      const res = await fetch(`${app.url}${path}`, { headers: { 'x-request-id': 'req-nf' } });
      expect(res.status, path).toBe(404);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ status: 404, code: 'route.not_found', requestId: 'req-nf', instance: path, title: 'Not Found' });
    }
  });

  it('answers a wrong method with 405 route.method_not_allowed and an Allow header', async () => {
    const res = await fetch(`${app.url}/v1/widgets`, { method: 'PUT', headers: { 'x-request-id': 'req-405' } });
    expect(res.status).toBe(405);
    const allow = (res.headers.get('allow') ?? '').split(', ').sort();
    expect(allow).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
    expect(await problemOf(res)).toMatchObject({ status: 405, code: 'route.method_not_allowed', requestId: 'req-405' });

    const one = await fetch(`${app.url}/v1/widgets/abc`, { method: 'PATCH' });
    expect(one.status).toBe(405);
    expect((one.headers.get('allow') ?? '').split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT']);
    expect((await problemOf(one)).code).toBe('route.method_not_allowed');

    const health = await fetch(`${app.url}/healthz`, { method: 'DELETE' });
    expect(health.status).toBe(405);
    expect(health.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('answers bad percent-encoding in the path with 400, not 500', async () => {
    for (const path of ['/v1/widgets/%E0%A4%A', '/v1/widgets/%zz', '/v1/widgets/%', '/v1/widgets/%C3']) {
      const res = await rawRequest(app.url, `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nx-request-id: req-pct`);
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.json()).toMatchObject({ status: 400, code: 'request.bad_request', requestId: 'req-pct' });
    }
  });

  it('answers a plain Error with 500 internal and leaks no message, stack or secret', async () => {
    const res = await fetch(`${app.url}/v1/boom`, { headers: { 'x-request-id': 'req-boom' } });
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ status: 500, code: 'internal', requestId: 'req-boom', title: 'Internal Server Error' });
    expect(Object.keys(problem).sort()).toEqual(['code', 'detail', 'instance', 'requestId', 'status', 'title', 'type']);
    for (const leak of [SECRET, 'hunter2', 'select', 'users', 'query failed', 'Error:', 'stack', '.ts:', 'node_modules']) {
      expect(text).not.toContain(leak);
    }
  });

  it('strips response fields the contract does not declare', async () => {
    const res = await fetch(`${app.url}/v1/leaky`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ id: 'w1', name: 'Leaky' });
    expect(text).not.toContain('argon2');
    expect(text).not.toContain('hunter2');
  });

  it('answers HEAD on a GET route with its headers and no body', async () => {
    const res = await fetch(`${app.url}/healthz`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(res.headers.get('content-length'))).toBe(JSON.stringify({ status: 'ok' }).length);
    expect(await res.text()).toBe('');

    const list = await fetch(`${app.url}/v1/widgets?limit=2`, { method: 'HEAD' });
    expect(list.status).toBe(200);
    expect(await list.text()).toBe('');

    const missing = await fetch(`${app.url}/v1/widgets/none`, { method: 'HEAD' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(await missing.text()).toBe('');
  });

  it('answers oversized headers with 431 and keeps serving', async () => {
    const res = await fetch(`${app.url}/healthz`, { headers: { 'x-big': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expect(res.headers.get('connection')).toBe('close');
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });

  it('answers a malformed request line with a bare 400 and keeps serving', async () => {
    const res = await rawRequest(app.url, `GET /healthz HTTP/9.9 nonsense\r\nhost: ${host}`);
    expect(res.status).toBe(400);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });
});
