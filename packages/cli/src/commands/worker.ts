import { createWorker, type Plinth, redactUrl, type Worker } from '@plinth/core';
import { type Command, InvalidArgumentError } from 'commander';
import { action } from '../action.js';
import { type CliContext, closeWithin, globalOptions, openPlinth, resolveConfig } from '../instance.js';
import { printLines } from '../output.js';

export interface WorkerCommandOptions {
  /** Jobs at once; default `PLINTH_JOBS_CONCURRENCY` (10). */
  concurrency?: number;
  /** Jobs per claim; default 1. */
  batchSize?: number;
  /** Queues; default all. */
  queues?: string[];
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000.');
  return n;
}

/**
 * Stops `worker` on SIGTERM/SIGINT: running jobs get `jobs.shutdownTimeoutMs` to
 * finish, the rest go back to the queue; then `after` runs and the process exits.
 * A second signal exits at once. Answers a function that removes the handlers.
 */
export function stopWorkerOnSignals(worker: Worker, plinth: Plinth, after: () => Promise<void>): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    plinth.logger.info({ signal }, 'stopping the worker');
    worker
      .stop()
      .then(async ({ released }) => {
        plinth.logger.info({ released }, 'worker stopped');
        await after();
        process.exit(0);
      })
      .catch((error: unknown) => {
        plinth.logger.error({ err: error }, 'worker shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

export function addWorkerCommand(program: Command, ctx: CliContext): Command {
  return program
    .command('worker')
    .description('Run background jobs, dispatch outbox events and cron schedules (run several, on one or many machines, with PostgreSQL)')
    .option('-c, --concurrency <n>', 'jobs run at once (default: PLINTH_JOBS_CONCURRENCY or 10)', parseCount)
    .option('--batch-size <n>', 'jobs taken per claim; more is faster for many short jobs (default: 1)', parseCount)
    .option('--queue <name...>', 'only these queues (default: every queue)')
    .addHelpText('after', '\nStops gracefully on SIGTERM or SIGINT: running jobs finish (up to PLINTH_JOBS_SHUTDOWN_TIMEOUT_MS), the rest are released to other workers.')
    .action(
      action(async (opts: { concurrency?: number; batchSize?: number; queue?: string[] }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const config = resolveConfig(globals);
        const plinth = openPlinth(config, ctx, 'stdout');
        let worker: Worker;
        try {
          // A worker never migrates: the server (or `plinth migrate up`) does.
          await plinth.start({ migrate: false });
          worker = createWorker(plinth, { concurrency: opts.concurrency, batchSize: opts.batchSize, queues: opts.queue });
          stopWorkerOnSignals(worker, plinth, () => closeWithin(plinth));
          await worker.start();
        } catch (error) {
          await closeWithin(plinth);
          throw error;
        }
        const line = { event: 'worker', id: worker.id, dialect: plinth.storage.dialect, database: redactUrl(config.databaseUrl) };
        if (globals.json) process.stdout.write(`${JSON.stringify(line)}\n`);
        else printLines([`Plinth worker ${worker.id} running (${line.dialect} ${line.database})`]);
        // Alive until a signal stops it (the handler exits the process).
        await new Promise<never>(() => setInterval(() => {}, 1 << 30));
      }),
    );
}
