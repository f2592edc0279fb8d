import { Counter, type Metric, type Registry } from 'prom-client';

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number): void;
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * The latency histogram, kept as plain numbers. prom-client's `observe`
 * builds and hashes a label key on every call, which cost more than the rest
 * of the request pipeline; here a request adds to a series found through
 * nested Maps. Registered on the registry like prom-client's metrics (same
 * `get()` shape), it is formatted exactly like a prom-client Histogram, and
 * only when scraped.
 */
class DurationHistogram {
  readonly name = 'plinth_http_request_duration_seconds';
  readonly help = 'HTTP request latency by method, route pattern and status.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** In first-seen order, like prom-client's. */
  readonly series: Series[] = [];
  #byRoute = new Map<string, Map<string, Map<number, Series>>>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const series = this.#seriesOf(method, route, status);
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    series.buckets[i]!++;
    series.sum += seconds;
    series.count++;
  }

  #seriesOf(method: string, route: string, status: number): Series {
    let byMethod = this.#byRoute.get(route);
    if (!byMethod) this.#byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      series = { labels: { method, route, status: String(status) }, buckets: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      byStatus.set(status, series);
      this.series.push(series);
    }
    return series;
  }

  async get() {
    const bucket = `${this.name}_bucket`;
    const values = this.series.flatMap(({ labels, buckets, sum, count }) => {
      let cumulative = 0;
      return [
        ...BUCKETS.map((le, i) => ({ labels: { le, ...labels }, value: (cumulative += buckets[i]!), metricName: bucket })),
        { labels: { le: '+Inf', ...labels }, value: count, metricName: bucket },
        { labels: { ...labels }, value: sum, metricName: `${this.name}_sum` },
        { labels: { ...labels }, value: count, metricName: `${this.name}_count` },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.length = 0;
    this.#byRoute.clear();
  }
}

/** Request count and latency by route pattern and status, registered on the instance's registry (shared by its servers). */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  const existing: unknown = registry.getSingleMetric('plinth_http_request_duration_seconds');
  if (existing instanceof DurationHistogram) return existing;
  const durations = new DurationHistogram();
  new Counter({
    name: 'plinth_http_requests_total',
    help: 'HTTP requests by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
    // The count of each latency series, copied when scraped rather than counted twice per request.
    collect() {
      this.reset();
      for (const { labels, count } of durations.series) this.inc(labels, count);
    },
  });
  // Duck-typed: a registry uses what every prom-client metric has (name, help, type, aggregator, get, reset).
  registry.registerMetric(durations as unknown as Metric);
  return durations;
}
