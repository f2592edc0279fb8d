import { type Job, type JobsService, jobStates, type JobState, PlinthError } from '@plinth/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { action } from '../action.js';
import { type CliContext, type GlobalOptions, globalOptions } from '../instance.js';
import { operate, type Operation } from '../operate.js';
import { columns, printJson, printLines } from '../output.js';

/**
 * `plinth jobs ...`: inspect and steer the job queue of a deployment, while it
 * runs. Retry and cancel are audited with the actor `cli`.
 */

export interface JobListQuery {
  state?: JobState | undefined;
  type?: string | undefined;
  queue?: string | undefined;
  /** How many jobs at most; default 50. */
  limit: number;
  cursor?: string | undefined;
}

export interface JobList {
  jobs: Job[];
  /** Pass as `--cursor` for the next jobs; null at the end. */
  nextCursor: string | null;
}

function jobsService(op: Operation): JobsService {
  const service = op.plinth.optionalService<JobsService>('jobs');
  if (!service) throw new PlinthError('modules.invalid', 'The jobs module is not loaded: jobs commands need it');
  return service;
}

export function gatherJobList(globals: GlobalOptions, ctx: CliContext, query: JobListQuery): Promise<JobList> {
  return operate(globals, ctx, async (op) => {
    const service = jobsService(op);
    const jobs: Job[] = [];
    let cursor = query.cursor;
    for (;;) {
      const page = await service.list({ ...query, limit: Math.min(100, query.limit - jobs.length), cursor }, op.caller);
      jobs.push(...page.data);
      cursor = page.nextCursor ?? undefined;
      if (!cursor || jobs.length >= query.limit) return { jobs, nextCursor: page.nextCursor };
    }
  });
}

export function gatherJob(globals: GlobalOptions, ctx: CliContext, id: string): Promise<Job> {
  return operate(globals, ctx, (op) => jobsService(op).get(id, op.caller));
}

export function gatherRetryJob(globals: GlobalOptions, ctx: CliContext, id: string): Promise<Job> {
  return operate(globals, ctx, (op) => jobsService(op).retry(id, op.caller));
}

export function gatherCancelJob(globals: GlobalOptions, ctx: CliContext, id: string): Promise<Job> {
  return operate(globals, ctx, (op) => jobsService(op).cancel(id, op.caller));
}

/** `2026-01-31 09:15:02` (UTC). */
const shortTime = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '-');

export function printJobList(list: JobList): void {
  if (!list.jobs.length) return printLines(['No jobs match.']);
  const header = ['ID', 'TYPE', 'QUEUE', 'STATE', 'ATTEMPTS', 'RUN AT', 'LAST ERROR'];
  const rows = list.jobs.map((j) => [j.id, j.type, j.queue, j.state, `${j.attempts}/${j.maxAttempts}`, shortTime(j.runAt), (j.lastError ?? '-').split('\n')[0]!.slice(0, 60)]);
  const count = `${list.jobs.length} job${list.jobs.length === 1 ? '' : 's'}`;
  printLines([...columns([header, ...rows], ''), list.nextCursor ? `${count}; more with --cursor ${list.nextCursor}` : count]);
}

export function printJob(job: Job): void {
  const rows: [string, string][] = [
    ['id', job.id],
    ['type', job.type],
    ['queue', job.queue],
    ['state', job.state],
    ['attempts', `${job.attempts} of ${job.maxAttempts}`],
    ['priority', String(job.priority)],
    ['run at', shortTime(job.runAt)],
    ['unique key', job.uniqueKey ?? '-'],
    ['locked by', job.lockedBy ? `${job.lockedBy} until ${shortTime(job.lockedUntil)}` : '-'],
    ['created', shortTime(job.createdAt)],
    ['finished', shortTime(job.finishedAt)],
    ['last error', job.lastError ?? '-'],
    ['payload', JSON.stringify(job.payload)],
  ];
  printLines(columns(rows, ''));
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000.');
  return n;
}

export function addJobsCommand(program: Command, ctx: CliContext): Command {
  const jobs = program
    .command('jobs')
    .description("List, inspect, retry and cancel background jobs (on the server's database, while it runs)")
    .addHelpText('after', '\nRetry and cancel are audited with the actor "cli". Pending migrations are refused.');

  const list = (name: string, description: string, fixed?: JobState) =>
    jobs
      .command(name)
      .description(description)
      .addOption(fixed ? new Option('--state <state>').hideHelp() : new Option('--state <state>', 'only jobs in this state').choices(jobStates))
      .option('--type <type>', 'only jobs of this type')
      .option('--queue <queue>', 'only jobs of this queue')
      .option('--limit <n>', 'how many at most', parseLimit, 50)
      .option('--cursor <cursor>', 'continue after a previous list (its nextCursor)')
      .action(
        action(async (opts: Omit<JobListQuery, 'state'> & { state?: JobState }, cmd: Command) => {
          const globals = globalOptions(cmd);
          const result = await gatherJobList(globals, ctx, { ...opts, state: fixed ?? opts.state });
          if (globals.json) printJson({ ok: true, ...result });
          else printJobList(result);
        }),
      );
  list('list', 'List jobs, newest first: id, type, queue, state, attempts, run at, last error');
  list('dead', 'List dead jobs (failed on every attempt), newest first; retry one with `plinth jobs retry <id>`', 'dead');

  jobs
    .command('show')
    .description('One job with its payload and last error')
    .argument('<id>', 'job id')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const job = await gatherJob(globals, ctx, id);
        if (globals.json) printJson({ ok: true, job });
        else printJob(job);
      }),
    );

  jobs
    .command('retry')
    .description('Run a dead, cancelled or waiting job again now (a dead or cancelled one starts its attempts again)')
    .argument('<id>', 'job id')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const job = await gatherRetryJob(globals, ctx, id);
        if (globals.json) printJson({ ok: true, job });
        else printLines([`Queued ${job.type} job ${job.id} to run now; a worker takes it within its poll interval.`]);
      }),
    );

  jobs
    .command('cancel')
    .description('Cancel a queued job')
    .argument('<id>', 'job id')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const job = await gatherCancelJob(globals, ctx, id);
        if (globals.json) printJson({ ok: true, job });
        else printLines([`Cancelled ${job.type} job ${job.id}.`]);
      }),
    );
  return jobs;
}
