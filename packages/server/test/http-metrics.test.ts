/**
 * The server keeps request latencies as plain numbers instead of calling
 * prom-client per request: what /metrics shows must not change for it.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHttpMetrics } from '../src/http-metrics.js';

/** The metrics as prom-client's own Counter and Histogram record them. */
function promClientMetrics(registry: Registry) {
  const labelNames = ['method', 'route', 'status'];
  const requests = new Counter({ name: 'plinth_http_requests_total', help: 'HTTP requests by method, route pattern and status.', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'plinth_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status.',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    observe(method: string, route: string, status: number, seconds: number) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}

const observations: [string, string, number, number][] = [
  ['GET', '/healthz', 200, 0.0004],
  ['GET', '/v1/widgets/:id', 404, 0.005], // on a bound
  ['POST', '/v1/widgets', 201, 0.0123],
  ['GET', 'unmatched', 404, 0],
  ['GET', '/healthz', 200, 0.0011],
  ['GET', '/v1/widgets/:id', 200, 12.5], // above every bound
  ['GET', '/v1/widgets/:id', 404, 0.3],
  ['DELETE', '/v1/widgets/:id', 500, 1],
];

describe('HTTP metrics', () => {
  it('shows what prom-client would, as text and as JSON', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const a = createHttpMetrics(ours);
    const b = promClientMetrics(theirs);
    for (const [method, route, status, seconds] of observations) {
      a.observe(method, route, status, seconds);
      b.observe(method, route, status, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const withoutExemplars = (json: unknown) => JSON.parse(JSON.stringify(json, (key, value) => (key === 'exemplar' ? undefined : value)));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));

    ours.resetMetrics();
    theirs.resetMetrics();
    a.observe('GET', '/healthz', 200, 0.002);
    b.observe('GET', '/healthz', 200, 0.002);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('is shared by two servers of one instance', async () => {
    const registry = new Registry();
    createHttpMetrics(registry).observe('GET', '/healthz', 200, 0.001);
    createHttpMetrics(registry).observe('GET', '/healthz', 200, 0.001);
    expect(await registry.metrics()).toMatch(/plinth_http_requests_total\{method="GET",route="\/healthz",status="200"\} 2/);
  });
});
