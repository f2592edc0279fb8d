/**
 * Child-process entry for one server under test:
 *   node bench/lib/server-child.mjs <scenario file>
 * Starts the scenario on 127.0.0.1, reports `{ type: 'ready', url, target, sample }`
 * over IPC, answers `usage` with its CPU time (and its database's, when the scenario can tell), and exits on `stop`, on SIGTERM,
 * or when the runner goes away (the IPC channel closes).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, configJson] = process.argv.slice(2);
const tmpDir = mkdtempSync(join(tmpdir(), 'plinth-bench-'));
process.on('exit', () => rmSync(tmpDir, { recursive: true, force: true }));

let running;
let stopping = false;

async function stop(code) {
  if (stopping) return;
  stopping = true;
  // A server that does not close in time must not keep the bench waiting.
  setTimeout(() => process.exit(code || 1), 5000).unref();
  try {
    await running?.close();
  } catch (error) {
    console.error('close failed:', error);
    code = 1;
  }
  process.exit(code);
}

// BENCH_CPU_PROF=1: the runner asks for a CPU profile of the measured window only (not the seeding).
let profiler;
async function profile(message) {
  try {
    if (message.action === 'start') {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    } else if (profiler) {
      const { profile: data } = await profiler.post('Profiler.stop');
      writeFileSync(message.file, JSON.stringify(data));
      profiler.disconnect();
      profiler = undefined;
    }
    process.send({ type: 'profiled', id: message.id });
  } catch (error) {
    process.send({ type: 'profiled', id: message.id, error: String(error) });
  }
}

/** This process's CPU time and, for a scenario on PostgreSQL (`databaseCpuMs`), its database backends' by pid. */
async function usage(message) {
  const cpu = process.cpuUsage();
  const at = performance.now();
  let db;
  try {
    db = await running?.databaseCpuMs?.();
  } catch {
    db = undefined; // not measured: the figure stays empty
  }
  process.send({ type: 'usage', id: message.id, cpu, at, db });
}

process.on('message', (message) => {
  if (message?.type === 'profile') void profile(message);
  if (message?.type === 'usage') void usage(message);
  if (message?.type === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

try {
  const scenario = await import(pathToFileURL(resolve(file)).href);
  running = await scenario.start({ tmpDir, config: JSON.parse(configJson) });
  process.send({ type: 'ready', url: running.url, target: running.target, sample: running.sample });
} catch (error) {
  console.error(error);
  process.send?.({ type: 'failed', message: String(error?.stack ?? error) });
  await stop(1);
}
