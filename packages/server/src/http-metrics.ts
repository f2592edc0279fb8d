import { Counter, Histogram, type Registry } from 'prom-client';

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number): void;
}

/** Request count and latency by route pattern and status, registered on the instance's registry. */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  const existing = registry.getSingleMetric('plinth_http_requests_total') as Counter | undefined;
  const requests =
    existing ??
    new Counter({
      name: 'plinth_http_requests_total',
      help: 'HTTP requests by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('plinth_http_request_duration_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'plinth_http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return {
    observe(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}
