import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './raw-http.js';
import { problemOf, startApp, type TestApp } from './widgets-app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe('request ids, trace context and response headers', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ corsOrigins: ['https://app.example.com'] });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('echoes a well-formed X-Request-Id on success and on problems', async () => {
    const ok = await fetch(`${app.url}/healthz`, { headers: { 'x-request-id': 'abc-123.DEF:4_5' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123.DEF:4_5');
    const missing = await fetch(`${app.url}/nowhere`, { headers: { 'x-request-id': 'trace-me' } });
    expect(missing.headers.get('x-request-id')).toBe('trace-me');
    expect((await problemOf(missing)).requestId).toBe('trace-me');
  });

  it('generates a request id when none or a malformed one is sent', async () => {
    const none = await fetch(`${app.url}/healthz`);
    expect(none.headers.get('x-request-id')).toMatch(UUID);
    const seen = new Set<string>();
    for (const bad of ['has space', 'x'.repeat(129), '<script>', 'a\tb', '']) {
      const res = await fetch(`${app.url}/nowhere`, { headers: { 'x-request-id': bad } });
      const id = res.headers.get('x-request-id')!;
      expect(id, bad).toMatch(UUID);
      expect((await problemOf(res)).requestId).toBe(id);
      seen.add(id);
    }
    expect(seen.size).toBe(5);
  });

  it('continues a valid W3C traceparent with a new span id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const res = await fetch(`${app.url}/v1/trace`, { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
    const trace = await res.json();
    const m = TRACEPARENT.exec(trace.traceparent);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(traceId);
    expect(m![2]).not.toBe(parentId);
    expect(m![3]).toBe('01');
    expect(trace).toMatchObject({ traceId, parentId, spanId: m![2] });
    // Trace context is request-side (W3C): propagated to the handler, not echoed in the response.
    expect(res.headers.get('traceparent')).toBeNull();

    const unsampled = await (await fetch(`${app.url}/v1/trace`, { headers: { traceparent: `00-${traceId}-${parentId}-00` } })).json();
    expect(TRACEPARENT.exec(unsampled.traceparent)![3]).toBe('00');
  });

  it('starts a new trace when traceparent is missing or invalid', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const invalid = [
      undefined,
      'garbage',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-${traceId}-${'0'.repeat(16)}-01`,
      `ff-${traceId}-00f067aa0ba902b7-01`,
      `00-${traceId.slice(1)}-00f067aa0ba902b7-01`,
      `00-${traceId}-00f067aa0ba902b7`,
    ];
    const traces = new Set<string>();
    for (const header of invalid) {
      const res = await fetch(`${app.url}/v1/trace`, { headers: header ? { traceparent: header } : {} });
      const trace = await res.json();
      expect(trace.parentId).toBeNull();
      const m = TRACEPARENT.exec(trace.traceparent);
      expect(m, String(header)).not.toBeNull();
      expect(m![1]).not.toBe(traceId);
      expect(m![1]).not.toMatch(/^0+$/);
      expect(m![2]).not.toMatch(/^0+$/);
      traces.add(m![1]!);
    }
    expect(traces.size).toBe(invalid.length);
  });

  it('sends the security headers on every kind of response', async () => {
    const responses = [
      await fetch(`${app.url}/healthz`),
      await fetch(`${app.url}/nowhere`),
      await fetch(`${app.url}/v1/boom`),
      await fetch(`${app.url}/metrics`),
      await fetch(`${app.url}/v1/widgets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
    ];
    for (const res of responses) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      // Plain HTTP: RFC 6797 forbids HSTS here.
      expect(res.headers.get('strict-transport-security')).toBeNull();
      expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(res.headers.get('x-powered-by')).toBeNull();
      await res.arrayBuffer();
    }
  });

  it('sends CORS headers to an allowed origin', async () => {
    const res = await fetch(`${app.url}/healthz`, { headers: { origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('vary')).toContain('Origin');
    expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
    // Problems carry them too, or the browser could not read the error.
    const problem = await fetch(`${app.url}/nowhere`, { headers: { origin: 'https://app.example.com' } });
    expect(problem.status).toBe(404);
    expect(problem.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  it('answers a CORS preflight from an allowed origin with 204', async () => {
    const res = await fetch(`${app.url}/v1/widgets`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, idempotency-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    const allowHeaders = res.headers.get('access-control-allow-headers') ?? '';
    expect(allowHeaders).toContain('content-type');
    expect(allowHeaders).toContain('idempotency-key');
    expect(allowHeaders).toContain('authorization');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(await res.text()).toBe('');

    // A preflight on a parameterised path works the same way.
    const param = await fetch(`${app.url}/v1/widgets/some-id`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' },
    });
    expect(param.status).toBe(204);
    expect(param.headers.get('access-control-allow-methods')).toContain('DELETE');
  });

  it('sends no CORS headers to an origin that is not allowed', async () => {
    const simple = await fetch(`${app.url}/healthz`, { headers: { origin: 'https://evil.example.com' } });
    expect(simple.status).toBe(200);
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${app.url}/v1/widgets`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
    // Near misses are not allowed either.
    for (const origin of ['https://app.example.com.evil.com', 'http://app.example.com', 'https://APP.example.com:443x', 'null']) {
      const res = await fetch(`${app.url}/healthz`, { headers: { origin } });
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it('answers OPTIONS without CORS with 204 and an Allow header', async () => {
    const res = await rawRequest(app.url, `OPTIONS /v1/widgets HTTP/1.1\r\nhost: ${new URL(app.url).host}`);
    expect(res.status).toBe(204);
    expect(res.headers.allow?.split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const unknown = await fetch(`${app.url}/nowhere`, { method: 'OPTIONS' });
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).code).toBe('route.not_found');
  });
});

describe('CORS with a wildcard origin', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ corsOrigins: ['*'] });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('allows any origin with *', async () => {
    const res = await fetch(`${app.url}/healthz`, { headers: { origin: 'https://anywhere.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('CORS off by default', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('sends no CORS headers when no origin is configured', async () => {
    const res = await fetch(`${app.url}/healthz`, { headers: { origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('HSTS', () => {
  it('is sent only over HTTPS: behind a trusted proxy that says so, never on plain HTTP', async () => {
    const proxied = await startApp({ trustProxy: true });
    try {
      const https = await fetch(`${proxied.url}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(https.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      const http = await fetch(`${proxied.url}/healthz`, { headers: { 'x-forwarded-proto': 'http' } });
      expect(http.headers.get('strict-transport-security')).toBeNull();
    } finally {
      await proxied.stop();
    }
    const direct = await startApp();
    try {
      const spoofed = await fetch(`${direct.url}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(spoofed.headers.get('strict-transport-security')).toBeNull();
    } finally {
      await direct.stop();
    }
  });
});
