import { type DialectName, PlinthError, type Plinth, redactUrl } from '@plinth/core';
import { createServer, handleShutdownSignals, type PlinthServer } from '@plinth/server';
import { type Command, InvalidArgumentError } from 'commander';
import { action } from '../action.js';
import { type CliContext, closeWithin, type GlobalOptions, globalOptions, openPlinth, resolveConfig } from '../instance.js';
import { printJson, printLines } from '../output.js';

export interface ServeOptions {
  /** Port; default `PLINTH_PORT` or 8080 (0 picks a free one). */
  port?: number;
  /** Interface; default `PLINTH_HOST` or 127.0.0.1. */
  host?: string;
  /** Run pending migrations first; default `PLINTH_AUTO_MIGRATE` (true). */
  migrate?: boolean;
}

export interface Listening {
  url: string;
  host: string;
  port: number;
  dialect: DialectName;
  /** The database URL without its password. */
  database: string;
}

export interface RunningServer {
  info: Listening;
  plinth: Plinth;
  server: PlinthServer;
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
  try {
    await plinth.start(options.migrate === undefined ? {} : { migrate: options.migrate });
    const server = createServer(plinth);
    const { host, port } = config.http;
    const address = await server.listen().catch((error: unknown) => {
      throw listenError(error, host, port);
    });
    return { info: { ...address, dialect: plinth.storage.dialect, database: redactUrl(config.databaseUrl) }, plinth, server };
  } catch (error) {
    await closeWithin(plinth);
    throw error;
  }
}

export function printListening(info: Listening, json: boolean): void {
  // One line either way, so it can be grepped out of the JSON log on stdout.
  if (json) {
    const { url, host, port, dialect, database } = info;
    process.stdout.write(`${JSON.stringify({ event: 'listening', url, host, port, dialect, database })}\n`);
  } else {
    printLines([`Plinth listening on ${info.url} (${info.dialect} ${info.database})`]);
  }
}

export function addServeCommand(program: Command, ctx: CliContext): Command {
  return program
    .command('serve')
    .description('Run the HTTP API (an embedded SQLite database under ./.plinth/ unless a database URL is given)')
    .option('-p, --port <n>', 'port to listen on, 0 for any free port (default: PLINTH_PORT or 8080)', parsePort)
    .option('--host <host>', 'interface to bind (default: PLINTH_HOST or 127.0.0.1)')
    .option('--no-migrate', 'do not apply pending migrations on start (default: apply them, unless PLINTH_AUTO_MIGRATE=false)')
    .addHelpText('after', '\nStops gracefully on SIGTERM or SIGINT: in-flight requests finish, then the database closes.')
    .action(
      action(async (opts: { port?: number; host?: string; migrate: boolean }, cmd: Command) => {
        const globals = globalOptions(cmd);
        // Only an explicit --no-migrate overrides PLINTH_AUTO_MIGRATE.
        const migrate = cmd.getOptionValueSource('migrate') === 'cli' ? opts.migrate : undefined;
        const running = await startServer(globals, { port: opts.port, host: opts.host, migrate }, ctx);
        // Handlers first: whoever reads the line may signal at once.
        handleShutdownSignals(running.server, running.plinth.logger);
        printListening(running.info, globals.json);
        // Resolve only when the server has closed; the signal handler then exits the process.
        await new Promise<void>((resolve) => running.server.server.once('close', () => resolve()));
      }),
    );
}
