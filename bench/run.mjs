/**
 * Plinth benchmark runner (`pnpm bench` builds first, then runs this file).
 *
 * Each scenario's server runs in its own child process (lib/server-child.mjs),
 * the load comes from another (lib/load-worker.mjs, autocannon), scenarios run
 * one after another, and each one is compared with its floor measured in the
 * same run. Results go to bench/results/<timestamp>.json and latest.json.
 *
 * Exit code 1 when a scenario fails to run or sees errors or non-2xx answers;
 * the healthz target is printed (PASS/FAIL) but does not change the exit code.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { loadBenchConfig } from './lib/config.mjs';
import { cpuSince } from './lib/pg-cpu.mjs';
import { isInterrupted, nextMessage, spawnTracked, stopChild } from './lib/processes.mjs';
import { printConfig, printRatios, printTable, printTargets, printWarnings } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** In run order. `floors`: scenarios this one is divided by. */
const SCENARIOS = [
  { name: 'floor-http', floors: [] },
  { name: 'plinth-healthz', floors: ['floor-http'] },
  { name: 'raw-sqlite-read-row', floors: ['floor-http'] },
  { name: 'plinth-read-row', floors: ['floor-http', 'raw-sqlite-read-row'] },
  { name: 'argon2-loop', floors: [], loop: true },
  { name: 'floor-http-argon2', floors: ['argon2-loop'] },
  { name: 'plinth-sign-in', floors: ['argon2-loop', 'floor-http-argon2'] },
  { name: 'plinth-refresh', floors: ['floor-http'] },
  { name: 'plinth-me', floors: ['floor-http'] },
  { name: 'plinth-create', floors: ['floor-http'] },
  { name: 'plinth-create-idempotent', floors: ['plinth-create'] },
  { name: 'catalog-read-sqlite', floors: ['floor-http'] },
  { name: 'catalog-read-postgres', floors: ['floor-http'] },
  { name: 'catalog-list-sqlite', floors: ['floor-http'] },
  { name: 'catalog-list-postgres', floors: ['floor-http'] },
  { name: 'catalog-search-sqlite', floors: ['floor-http'] },
  { name: 'catalog-search-postgres', floors: ['floor-http'] },
  { name: 'catalog-read-uncached-sqlite', floors: ['floor-http', 'catalog-read-sqlite'] },
  { name: 'ratelimit-off', floors: ['floor-http'] },
  { name: 'ratelimit-redis', floors: ['floor-http', 'ratelimit-off'] },
  { name: 'orders-place-sqlite', floors: ['floor-http'] },
  { name: 'orders-place-postgres', floors: ['floor-http'] },
  // Loop scenarios in MB/s of a SQLite database (BENCH_BACKUP_MB, default 100), against a plain file copy.
  { name: 'backup-floor-copy', floors: [], loop: true },
  { name: 'backup-sqlite-native', floors: ['backup-floor-copy'], loop: true },
  { name: 'backup-sqlite-logical', floors: ['backup-floor-copy'], loop: true },
  { name: 'backup-restore-logical', floors: ['backup-floor-copy'], loop: true },
  // Job throughput (no HTTP): absolute jobs/s, see bench/README.md for the targets.
  { name: 'jobs-sqlite-single', floors: [], loop: true },
  { name: 'jobs-sqlite-batch', floors: [], loop: true },
  { name: 'jobs-postgres-floor', floors: [], loop: true },
  { name: 'jobs-postgres-single', floors: ['jobs-postgres-floor'], loop: true },
  { name: 'jobs-postgres-batch', floors: ['jobs-postgres-floor'], loop: true },
  // Analytics (no HTTP): rebuild events/s, and orders/s with the rollup lag (p50/p99 printed as extra figures).
  { name: 'analytics-rebuild-sqlite', floors: [], loop: true },
  { name: 'analytics-rebuild-postgres', floors: [], loop: true },
  { name: 'analytics-lag-sqlite', floors: [], loop: true },
  { name: 'analytics-lag-postgres', floors: [], loop: true },
  { name: 'webhooks-latency-sqlite', floors: [], loop: true },
  { name: 'webhooks-latency-postgres', floors: [], loop: true },
  { name: 'webhooks-fanout-sqlite', floors: [], loop: true },
  { name: 'webhooks-fanout-postgres', floors: [], loop: true },
];

/** Goals checked and printed, never enforced by the exit code. */
const TARGETS = [
  { scenario: 'plinth-healthz', floor: 'floor-http', min: 0.8 },
  { scenario: 'plinth-sign-in', floor: 'argon2-loop', min: 0.9 },
  { scenario: 'plinth-me', floor: 'floor-http', min: 0.6 },
  { scenario: 'catalog-read-sqlite', floor: 'floor-http', min: 0.5 },
  { scenario: 'catalog-read-postgres', floor: 'floor-http', min: 0.5 },
  // The Redis rate limiter costs at most 15% of the request rate.
  { scenario: 'ratelimit-redis', floor: 'ratelimit-off', min: 0.85 },
  // Absolute goals for this machine (2 shared cores), not ratios.
  { scenario: 'orders-place-sqlite', minReqPerSec: 1500 },
  { scenario: 'orders-place-postgres', minReqPerSec: 800 },
];

/** A load generator busier than this is probably the bottleneck, not the server. */
const LOAD_SATURATED_PERCENT = 90;
/** CPU used by other processes during a measurement (% of one core) above which it is flagged as noisy. */
const OTHER_BUSY_PERCENT = 15;

function machineInfo() {
  const cpus = os.cpus();
  let git;
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', '../packages'], { cwd: here, encoding: 'utf8' }).trim() !== '';
    git = { commit, packagesDirty: dirty };
  } catch {
    git = undefined;
  }
  return {
    node: process.version,
    v8: process.versions.v8,
    cpus: { count: cpus.length, model: cpus[0]?.model.trim() ?? 'unknown', speedMHz: cpus[0]?.speed },
    os: { type: os.type(), release: os.release(), arch: os.arch(), platform: os.platform() },
    totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
    loadAvgAtStart: os.loadavg(),
    git,
  };
}

/**
 * The server must answer the sample request with 2xx and the expected JSON
 * (`body`: exactly this; `keys`: at least these members) before it is measured.
 */
async function checkServer(url, target, sample) {
  const checks = [sample];
  if (target.pathPrefix) checks.push({ path: `${target.pathPrefix}1` }, { path: `${target.pathPrefix}${target.maxId}` });
  else if (!target.bodies && !target.refreshTokens && !target.paths) checks.push({ path: target.path, headers: target.headers });
  for (const check of checks) {
    const res = await fetch(`${url}${check.path}`, {
      method: check.method ?? 'GET',
      headers: { ...(check.requestBody ? { 'content-type': 'application/json' } : {}), ...check.headers },
      body: check.requestBody,
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new Error(`sanity check: ${check.method ?? 'GET'} ${check.path} answered ${res.status}: ${text.slice(0, 300)}`);
    if (!res.headers.get('content-type')?.startsWith('application/json')) {
      throw new Error(`sanity check: ${check.path} answered content-type ${res.headers.get('content-type')}`);
    }
    const json = JSON.parse(text);
    if (check.body !== undefined && !isDeepStrictEqual(json, check.body)) {
      throw new Error(`sanity check: ${check.path} answered ${text}, expected ${JSON.stringify(check.body)}`);
    }
    for (const key of check.keys ?? []) if (!(key in json)) throw new Error(`sanity check: ${check.path} answered no "${key}": ${text.slice(0, 300)}`);
  }
}

/** CPU time of the whole machine (all cores), in ms: busy and total. */
function machineCpuMs() {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const sum = times.user + times.nice + times.sys + times.irq + times.idle;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy, total };
}

async function serverCpu(server) {
  const id = Math.random();
  const answer = nextMessage(server, 'usage', 5000, 'server usage');
  server.child.send({ type: 'usage', id });
  return answer;
}

/** BENCH_CPU_PROF=1: starts or stops (writing `file`) the server's CPU profile of the measured window. */
async function profileControl(server, message) {
  const answer = nextMessage(server, 'profiled', 30_000, 'server profile');
  server.child.send({ type: 'profile', ...message });
  const { error } = await answer;
  if (error) throw new Error(`server profile: ${error}`);
}

/** A loop scenario (no HTTP server): its `measure` runs in a child process; ops/s stand for req/s. */
async function runLoop(name, config) {
  const child = spawnTracked(join(here, 'lib/loop-child.mjs'), [join(here, 'scenarios', `${name}.mjs`), JSON.stringify(config)]);
  try {
    const { result } = await nextMessage(child, 'result', (config.warmup + config.duration) * 1000 + 60_000, `${name} loop`);
    const measurement = {
      requestsPerSec: result.opsPerSec,
      requestsTotal: result.ops,
      durationSec: result.seconds,
      latencyMs: result.latencyMs ?? { p50: null, p99: null },
      errors: 0,
      non2xx: 0,
      serverCpuPercent: (result.cpuMs / (result.seconds * 1000)) * 100,
      serverCpuUsPerRequest: (result.cpuMs * 1000) / result.ops,
      // Loop scenarios on PostgreSQL: CPU of the database's backends (same machine) per operation.
      databaseCpuUsPerRequest: result.dbCpuMs === undefined ? null : (result.dbCpuMs * 1000) / result.ops,
      loadGeneratorCpuPercent: null,
      otherCpuPercent: null,
      ...(result.extra ? { extra: result.extra } : {}),
    };
    if (result.extra) process.stdout.write(` [${Object.entries(result.extra).map(([k, v]) => `${k}=${v}`).join(' ')}]`);
    return { name, ok: result.ops > 0, error: result.ops > 0 ? undefined : 'no operation completed', warnings: [], measurement };
  } catch (error) {
    return { name, ok: false, error: String(error?.message ?? error), warnings: [] };
  } finally {
    await stopChild(child);
  }
}

async function runScenario(name, config, stamp) {
  if (SCENARIOS.find((s) => s.name === name)?.loop) return runLoop(name, config);
  const warnings = [];
  if (config.cpuProfile) warnings.push('server profiled (BENCH_CPU_PROF=1): figures are slower than an unprofiled run');
  const server = spawnTracked(join(here, 'lib/server-child.mjs'), [join(here, 'scenarios', `${name}.mjs`), JSON.stringify(config)]);
  let load;
  try {
    const { url, target, sample } = await nextMessage(server, 'ready', config.setupTimeout * 1000, `${name} server`);
    await checkServer(url, target, sample);

    load = spawnTracked(join(here, 'lib/load-worker.mjs'));
    const deadline = (config.warmup + config.duration) * 1000 + 30_000;
    const measuring = nextMessage(load, 'measuring', deadline, `${name} load`);
    const resultMessage = nextMessage(load, 'result', deadline, `${name} load`);
    load.child.send({ type: 'run', url, target, ...config });
    await measuring;
    if (config.cpuProfile) await profileControl(server, { action: 'start' });
    const machineBefore = machineCpuMs();
    const cpuBefore = await serverCpu(server);
    const { result } = await resultMessage;
    const cpuAfter = await serverCpu(server);
    const machineAfter = machineCpuMs();
    if (config.cpuProfile) {
      const dir = join(here, 'results', 'profiles');
      mkdirSync(dir, { recursive: true });
      await profileControl(server, { action: 'stop', file: join(dir, `${stamp}-${name}.cpuprofile`) });
    }
    const cpuMs = (cpuAfter.cpu.user + cpuAfter.cpu.system - cpuBefore.cpu.user - cpuBefore.cpu.system) / 1000;
    result.serverCpuPercent = (cpuMs / (cpuAfter.at - cpuBefore.at)) * 100;
    // Server CPU time per request: barely moved by other load on the machine, unlike req/s.
    result.serverCpuUsPerRequest = (result.serverCpuPercent / 100) * 1e6 / result.requestsPerSec;
    // Everything else the machine did meanwhile (other processes, the kernel): noise in this measurement.
    const busy = machineAfter.busy - machineBefore.busy;
    const all = machineAfter.total - machineBefore.total;
    const machinePercent = all > 0 ? (busy / all) * os.cpus().length * 100 : 0;
    result.otherCpuPercent = Math.max(0, machinePercent - result.serverCpuPercent - result.loadGeneratorCpuPercent);
    // PostgreSQL scenarios: the database backends' CPU per request (part of "other CPU").
    result.databaseCpuUsPerRequest = cpuBefore.db && cpuAfter.db ? (cpuSince(cpuBefore.db, cpuAfter.db) / (cpuAfter.at - cpuBefore.at)) * 1e6 / result.requestsPerSec : null;

    if (result.otherCpuPercent >= OTHER_BUSY_PERCENT) {
      warnings.push(`other processes used ${Math.round(result.otherCpuPercent)}% of a core meanwhile: this measurement is noisy, run again on a quiet machine`);
    }
    if (result.loadGeneratorCpuPercent >= LOAD_SATURATED_PERCENT) {
      warnings.push(`load generator at ${Math.round(result.loadGeneratorCpuPercent)}% CPU: req/s may be bounded by autocannon, not the server`);
    }
    const failures = result.errors + result.non2xx; // autocannon counts timeouts among errors
    const ok = failures === 0 && result.requestsTotal > 0;
    const error = ok
      ? undefined
      : `${result.errors} errors (of which ${result.timeouts} timeouts), ${result.non2xx} non-2xx, status codes ${JSON.stringify(result.statusCodes)}`;
    return { name, ok, error, warnings, target, measurement: result };
  } catch (error) {
    return { name, ok: false, error: String(error?.message ?? error), warnings };
  } finally {
    if (load) await stopChild(load);
    const exit = await stopChild(server);
    if (exit.code !== 0) warnings.push(`server exited with ${exit.signal ?? `code ${exit.code}`}`);
  }
}

function ratiosOf(results) {
  const byName = new Map(results.map((r) => [r.name, r]));
  const measured = (name) => (byName.get(name)?.ok ? byName.get(name).measurement : undefined);
  const ratios = [];
  for (const { name, floors } of SCENARIOS) {
    if (!byName.has(name)) continue;
    for (const floor of floors) {
      const [a, b] = [measured(name), measured(floor)];
      const missing = !byName.has(floor) ? `${floor} not run` : !a || !b ? 'a side failed' : undefined;
      ratios.push({
        scenario: name,
        floor,
        ratio: missing ? null : a.requestsPerSec / b.requestsPerSec,
        cpuRatio: missing ? null : b.serverCpuUsPerRequest / a.serverCpuUsPerRequest,
        missing,
      });
    }
  }
  return ratios;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** A scenario's run with the median req/s over the rounds (a failed round wins: failures must show). */
function medianRun(runs) {
  const failed = runs.find((r) => !r.ok);
  if (failed) return failed;
  const sorted = [...runs].sort((a, b) => a.measurement.requestsPerSec - b.measurement.requestsPerSec);
  return sorted[(sorted.length - 1) >> 1];
}

/** Per (scenario, floor): the median of the per-round ratios, with every round's value kept. */
function medianRatios(perRound) {
  return perRound[0].map((first, i) => {
    const all = perRound.map((r) => r[i]);
    if (all.some((r) => r.missing)) return first;
    return {
      ...first,
      ratio: median(all.map((r) => r.ratio)),
      cpuRatio: median(all.map((r) => r.cpuRatio)),
      rounds: all.map((r) => r.ratio),
    };
  });
}

async function main() {
  const config = loadBenchConfig();
  const machine = machineInfo();
  const plan = SCENARIOS.filter((s) => !config.only || config.only.includes(s.name));
  const unknown = (config.only ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`BENCH_ONLY names unknown scenarios: ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  printConfig(config, machine);

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/:/g, '-');
  // Rounds run the whole plan again, so a floor and its scenario alternate in time: on a VM
  // whose CPU share drifts, the median of per-round ratios is steadier than any one run.
  const rounds = [];
  for (let round = 1; round <= config.rounds; round++) {
    const roundResults = [];
    for (const { name } of plan) {
      if (isInterrupted()) return;
      process.stdout.write(`${config.rounds > 1 ? `[${round}/${config.rounds}] ` : ''}running ${name} ...`);
      const result = await runScenario(name, config, stamp);
      process.stdout.write(result.ok ? ` ${Math.round(result.measurement.requestsPerSec).toLocaleString('en-US')} req/s\n` : ' FAILED\n');
      roundResults.push(result);
    }
    rounds.push(roundResults);
  }
  console.log('');

  const results = plan.map(({ name }) => medianRun(rounds.map((r) => r.find((x) => x.name === name))));
  const ratios = medianRatios(rounds.map(ratiosOf));
  const targets = TARGETS.filter((t) => t.minReqPerSec === undefined).map((t) => {
    const ratio = ratios.find((r) => r.scenario === t.scenario && r.floor === t.floor)?.ratio ?? null;
    return { ...t, ratio, pass: ratio !== null && ratio >= t.min };
  });
  for (const t of TARGETS.filter((x) => x.minReqPerSec !== undefined)) {
    const run = results.find((r) => r.name === t.scenario);
    const reqPerSec = run?.ok ? run.measurement.requestsPerSec : null;
    targets.push({ ...t, reqPerSec, pass: reqPerSec !== null && reqPerSec >= t.minReqPerSec });
  }
  printTable(results);
  printRatios(ratios);
  printTargets(targets);
  printWarnings(results);

  machine.loadAvgAtEnd = os.loadavg();
  const report = { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), machine, config, results, ratios, targets, rounds };
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${stamp}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  console.log(`\nresults: ${file}`);

  const failed = [...new Set(rounds.flat().filter((r) => !r.ok).map((r) => r.name))];
  if (failed.length) {
    console.error(`failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error?.message ?? error);
  process.exitCode = 1;
});
