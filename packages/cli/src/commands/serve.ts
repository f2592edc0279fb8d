import { createWorker, type DialectName, PlinthError, type Plinth, redactUrl, type Worker } from '@plinth/core';
import { createServer, handleShutdownSignals, type PlinthServer } from '@plinth/server';
import { type Command, InvalidArgumentError } from 'commander';
import { action } from '../action.js';
import { type CliContext, closeWithin, type GlobalOptions, globalOptions, openPlinth, resolveConfig } from '../instance.js';
import { printJson, printLines } from '../output.js';
import { gatherSeed, printSeed } from './seed.js';
import { isClusterWorker, reportListening, runClusterPrimary } from './serve-cluster.js';

export interface ServeOptions {
  /** Port; default `PLINTH_PORT` or 8080 (0 picks a free one). */
  port?: number;
  /** Interface; default `PLINTH_HOST` or 127.0.0.1. */
  host?: string;
  /** Run pending migrations first; default `PLINTH_AUTO_MIGRATE` (true). */
  migrate?: boolean;
  /** Run a job worker in this process; default true on SQLite (the embedded default), false on PostgreSQL (run `plinth worker`). */
  worker?: boolean;
}

export interface Listening {
  url: string;
  host: string;
  port: number;
  dialect: DialectName;
  /** The database URL without its password. */
  database: string;
  /** The in-process worker's id, when one runs. */
  worker: string | null;
}

export interface RunningServer {
  info: Listening;
  plinth: Plinth;
  /** Closing it also stops the in-process worker (its running jobs finish or are released) before the database closes. */
  server: PlinthServer;
  worker: Worker | undefined;
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 256) throw new InvalidArgumentError('must be a whole number from 1 to 256.');
  return n;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a whole number from 0 to 65535.');
  return port;
}

function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') return new PlinthError('service.unavailable', `Port ${port} on ${host} is already in use`, { cause: error });
  if (code === 'EACCES') return new PlinthError('service.unavailable', `No permission to listen on ${host}:${port}`, { cause: error });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new PlinthError('service.unavailable', `Cannot listen on ${host}: no such local address`, { cause: error });
  }
  return error;
}

/** Opens the database, migrates (unless told not to) and listens. */
export async function startServer(globals: GlobalOptions, options: ServeOptions, ctx: CliContext): Promise<RunningServer> {
  const config = resolveConfig(globals, { host: options.host, port: options.port });
  const plinth = openPlinth(config, ctx, 'stdout');
  let worker: Worker | undefined;
  try {
    await plinth.start(options.migrate === undefined ? {} : { migrate: options.migrate });
    const http = createServer(plinth, { closePlinth: false });
    const { host, port } = config.http;
    const address = await http.listen().catch((error: unknown) => {
      throw listenError(error, host, port);
    });
    const wantWorker = options.worker ?? plinth.storage.dialect === 'sqlite';
    if (wantWorker && (await plinth.migrator.pending()).length) {
      plinth.logger.warn('migrations are pending: not running jobs in this process (run `plinth migrate up`)');
    } else if (wantWorker) {
      // SQLite commits one claim at a time (an fsync each): claim a few jobs at once.
      worker = createWorker(plinth, plinth.storage.dialect === 'sqlite' ? { batchSize: 10 } : {});
    }
    await worker?.start();
    let closing: Promise<void> | undefined;
    const server: PlinthServer = Object.assign(Object.create(http) as PlinthServer, {
      close: () =>
        (closing ??= (async () => {
          // Requests drain while running jobs finish; then the database closes.
          await Promise.all([http.close(), worker?.stop()]);
          await plinth.close();
        })()),
    });
    return { info: { ...address, dialect: plinth.storage.dialect, database: redactUrl(config.databaseUrl), worker: worker?.id ?? null }, plinth, server, worker };
  } catch (error) {
    await worker?.stop({ timeoutMs: 0 }).catch(() => undefined);
    await closeWithin(plinth);
    throw error;
  }
}

export function printListening(info: Listening, json: boolean): void {
  // One line either way, so it can be grepped out of the JSON log on stdout.
  if (json) {
    const { url, host, port, dialect, database, worker } = info;
    process.stdout.write(`${JSON.stringify({ event: 'listening', url, host, port, dialect, database, worker })}\n`);
  } else {
    printLines([`Plinth listening on ${info.url} (${info.dialect} ${info.database})${info.worker ? '; running jobs in this process' : ''}`]);
  }
}

export function addServeCommand(program: Command, ctx: CliContext): Command {
  return program
    .command('serve')
    .description('Run the HTTP API (an embedded SQLite database under ./.plinth/ unless a database URL is given)')
    .option('-p, --port <n>', 'port to listen on, 0 for any free port (default: PLINTH_PORT or 8080)', parsePort)
    .option('--host <host>', 'interface to bind (default: PLINTH_HOST or 127.0.0.1)')
    .option('--no-migrate', 'do not apply pending migrations on start (default: apply them, unless PLINTH_AUTO_MIGRATE=false)')
    .option('--worker', 'also run background jobs in this process (the default with SQLite)')
    .option('--no-worker', 'do not run background jobs here (the default with PostgreSQL: run `plinth worker`)')
    .option('--seed-demo-if-empty', 'fill an empty database with the demo shop first (`plinth seed --demo`); default off')
    .option('--workers <n>', 'run N server processes sharing the port (node:cluster); use PostgreSQL and Redis so they share state (default: 1)', parseWorkers)
    .addHelpText('after', '\nStops gracefully on SIGTERM or SIGINT: in-flight requests and running jobs finish (unfinished jobs go back to the queue), then the database closes.')
    .action(
      action(async (opts: { port?: number; host?: string; migrate: boolean; worker?: boolean; seedDemoIfEmpty?: boolean; workers?: number }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const clustered = (opts.workers ?? 1) > 1;
        if (clustered && !isClusterWorker()) {
          await serveCluster(globals, opts.workers!, cmd, ctx, { migrate: opts.migrate, seed: opts.seedDemoIfEmpty === true });
          return;
        }
        if (opts.seedDemoIfEmpty && !clustered) {
          const seeded = await gatherSeed(globals, ctx, { ifEmpty: true });
          if (seeded) printSeed(seeded, globals.json);
        }
        // Only an explicit --no-migrate overrides PLINTH_AUTO_MIGRATE.
        // In a cluster the primary has migrated already.
        const migrate = clustered ? false : cmd.getOptionValueSource('migrate') === 'cli' ? opts.migrate : undefined;
        const worker = cmd.getOptionValueSource('worker') === 'cli' ? opts.worker : undefined;
        const running = await startServer(globals, { port: opts.port, host: opts.host, migrate, worker }, ctx);
        // Handlers first: whoever reads the line may signal at once.
        if (clustered) {
          // The primary turns SIGINT (Ctrl-C reaches the whole group) into one SIGTERM per process.
          process.on('SIGINT', () => {});
          handleShutdownSignals(running.server, running.plinth.logger, ['SIGTERM']);
        } else handleShutdownSignals(running.server, running.plinth.logger);
        if (clustered) reportListening(running.info);
        else printListening(running.info, globals.json);
        // Resolve only when the server has closed; the signal handler then exits the process.
        await new Promise<void>((resolve) => running.server.server.once('close', () => resolve()));
      }),
    );
}

/**
 * `plinth serve --workers N`, the primary: migrate (and seed) once, fork N server processes,
 * print one line when all listen, stop them all on SIGTERM/SIGINT.
 */
async function serveCluster(globals: GlobalOptions, count: number, cmd: Command, ctx: CliContext, options: { migrate: boolean; seed: boolean }): Promise<void> {
  const config = resolveConfig(globals, {});
  const plinth = openPlinth(config, ctx, 'stdout');
  try {
    const migrate = cmd.getOptionValueSource('migrate') === 'cli' ? options.migrate : undefined;
    await plinth.start(migrate === undefined ? {} : { migrate });
    if (config.rateLimit.store === 'memory' || (config.rateLimit.store === 'auto' && !config.redisUrl)) {
      plinth.logger.warn('several server processes without Redis: each keeps its own rate limits and cache (set PLINTH_REDIS_URL)');
    }
  } finally {
    await closeWithin(plinth);
  }
  if (options.seed) {
    const seeded = await gatherSeed(globals, ctx, { ifEmpty: true });
    if (seeded) printSeed(seeded, globals.json);
  }
  const handle = runClusterPrimary(count, plinth.logger);
  const { info, pids } = await handle.listening;
  if (globals.json) {
    const { url, host, port, dialect, database } = info;
    process.stdout.write(`${JSON.stringify({ event: 'listening', url, host, port, dialect, database, workers: count, pids })}\n`);
  } else {
    printLines([`Plinth listening on ${info.url} (${info.dialect} ${info.database}); ${count} server processes (pids ${pids.join(', ')})`]);
  }
  const code = await handle.stopped;
  process.exitCode = code;
}
