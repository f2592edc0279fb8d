import { dialects } from '@plinth/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './raw-http.js';
import { startApp, type TestApp } from './widgets-app.js';

const BODY_LIMIT = 1024;

describe.each(dialects)('a storm of concurrent requests on %s', (dialect) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ dialect, bodyLimit: BODY_LIMIT });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('answers 200 mixed good and bad requests without a 500 and keeps serving', async () => {
    const before = await app.widgetCount();
    const host = new URL(app.url).host;
    const post = (body: string, type = 'application/json') =>
      fetch(`${app.url}/v1/widgets`, { method: 'POST', headers: { 'content-type': type }, body });
    type Case = [expected: number, send: () => Promise<number>];
    const status = (p: Promise<Response>) => p.then(async (res) => (await res.arrayBuffer(), res.status));
    const kinds: ((i: number) => Case)[] = [
      (i) => [201, () => status(post(JSON.stringify({ name: `w${i}`, count: i })))],
      () => [422, () => status(post(JSON.stringify({ name: '', count: 'x' })))],
      () => [400, () => status(post('{"name":'))],
      () => [415, () => status(post('name=x', 'text/plain'))],
      () => [413, () => status(post(JSON.stringify({ name: 'x'.repeat(BODY_LIMIT * 2), count: 1 })))],
      (i) => [404, () => status(fetch(`${app.url}/v1/widgets/missing-${i}`))],
      () => [404, () => status(fetch(`${app.url}/v1/nothing-here`))],
      () => [405, () => status(fetch(`${app.url}/v1/widgets`, { method: 'PATCH' }))],
      () => [422, () => status(fetch(`${app.url}/v1/widgets?limit=1000`))],
      () => [200, () => status(fetch(`${app.url}/v1/widgets?limit=5`))],
      () => [200, () => status(fetch(`${app.url}/healthz`))],
      () => [400, () => rawRequest(app.url, `GET /v1/widgets/%E0%A4%A HTTP/1.1\r\nhost: ${host}`).then((r) => r.status)],
    ];
    const cases = Array.from({ length: 200 }, (_, i) => kinds[i % kinds.length]!(i));
    const results = await Promise.all(cases.map(async ([expected, send]) => ({ expected, actual: await send() })));

    expect(results.filter((r) => r.actual >= 500)).toEqual([]);
    expect(results.filter((r) => r.actual !== r.expected)).toEqual([]);
    const created = results.filter((r) => r.expected === 201).length;
    expect(await app.widgetCount()).toBe(before + created);

    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).not.toMatch(/plinth_http_requests_total\{[^}]*status="5\d\d"\}/);
  });
});
