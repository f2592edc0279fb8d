/**
 * Child-process entry for the load generator: `node bench/lib/load-worker.mjs`.
 * Receives `{ type: 'run', url, target, warmup, duration, connections, pipelining }`
 * over IPC, runs an unmeasured warm-up and then the measured autocannon run,
 * and answers `{ type: 'result', ... }`. It never shares an event loop with the
 * server, and it exits with the runner (IPC close).
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

process.on('disconnect', () => process.exit(1));

/**
 * What each request looks like. A target is one of:
 * - `{ path }`: the same GET every time;
 * - `{ pathPrefix, maxId }`: GET `<prefix><random id>`;
 * - `{ paths }`: GET a random path of the pool;
 * - `{ path, method, headers, bodies, uniqueHeader? }`: a body from the pool, in turn (with a fresh
 *   UUID in the `uniqueHeader` header of each request, e.g. `idempotency-key`);
 * - `{ path, refreshTokens }`: POST refresh chains — tokens rotate on every use,
 *   so each answer's token goes back into the pool for a later request.
 */
function requestsFor(target) {
  // Random GETs are drawn here, once, and built by autocannon before the run: a `setupRequest` per
  // request makes autocannon rebuild each request (a plain node:http floor fed that way measured
  // 71% of itself fed one fixed path), and that cost of the load generator is not the server's.
  if (target.pathPrefix) return drawn(() => `${target.pathPrefix}${1 + Math.floor(Math.random() * target.maxId)}`);
  if (target.paths) return drawn(() => target.paths[Math.floor(Math.random() * target.paths.length)]);
  if (target.bodies) {
    let next = 0;
    return [
      {
        method: target.method ?? 'POST',
        setupRequest(request) {
          request.body = target.bodies[next++ % target.bodies.length];
          // A fresh value per request (e.g. an Idempotency-Key that is never a replay).
          if (target.uniqueHeader) request.headers = { ...request.headers, [target.uniqueHeader]: randomUUID() };
          return request;
        },
      },
    ];
  }
  if (target.refreshTokens) {
    // Live tokens: a request takes one, its answer puts the rotated one back. With one request
    // in flight per connection, as many chains run as there are connections (spares cover failures).
    const live = [...target.refreshTokens];
    return [
      {
        method: 'POST',
        setupRequest(request) {
          request.body = JSON.stringify({ refreshToken: live.shift() });
          return request;
        },
        onResponse(status, body) {
          if (status === 200) live.push(JSON.parse(body).refreshToken);
        },
      },
    ];
  }
  return undefined;
}

/**
 * `DRAWS` GETs, each path drawn at random: every connection cycles through the same draws, built once
 * (connections drift apart after their first few requests, so they do not move in step). autocannon
 * copies the list per connection; at 2,048 draws × 50 connections the copies alone made the load
 * generator 1.6× slower per request (CPU caches), at 1,024 and below it costs what one fixed path does.
 */
const DRAWS = 1000;
function drawn(path) {
  return Array.from({ length: DRAWS }, () => ({ method: 'GET', path: path() }));
}

function cannon(options, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    if (onResponse) instance.on('response', onResponse);
  });
}

/** Sorted latencies (ms, sub-millisecond precision) → percentile. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function run({ url, target, warmup, duration, connections, pipelining }) {
  const base = {
    url: `${url}${target.path ?? target.paths?.[0] ?? '/'}`,
    method: target.method ?? (target.bodies || target.refreshTokens ? 'POST' : 'GET'),
    headers: { ...(target.bodies || target.refreshTokens ? { 'content-type': 'application/json' } : {}), ...target.headers },
    connections,
    pipelining,
    requests: requestsFor(target),
    timeout: 10,
  };
  if (warmup > 0) await cannon({ ...base, duration: warmup });

  // autocannon's own latency histogram keeps whole milliseconds; record the
  // exact response times of 2xx answers too, for sub-millisecond p50/p99.
  let latencies = new Float64Array(1 << 18);
  let count = 0;
  const record = (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 200 || statusCode > 299) return;
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTime;
  };

  process.send({ type: 'measuring' });
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const result = await cannon({ ...base, duration }, record);
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - wallBefore;
  process.send({ type: 'measured' });

  const sorted = latencies.subarray(0, count).sort();
  return {
    requestsPerSec: result.requests.total / result.duration,
    requestsTotal: result.requests.total,
    durationSec: result.duration,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: percentile(sorted, 100),
      mean: count ? sorted.reduce((a, b) => a + b, 0) / count : null,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    resets: result.resets,
    mismatches: result.mismatches,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count])),
    throughputBytesPerSec: result.throughput.average,
    loadGeneratorCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    autocannon: { requests: result.requests, latency: result.latency },
  };
}

process.once('message', async (message) => {
  try {
    process.send({ type: 'result', result: await run(message) });
  } catch (error) {
    process.send({ type: 'failed', message: String(error?.stack ?? error) });
  }
  process.disconnect();
});
