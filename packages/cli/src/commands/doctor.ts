import { createStorage, type Plinth, type PlinthConfig, redactUrl } from '@plinth/core';
import { type Command, InvalidArgumentError } from 'commander';
import { action } from '../action.js';
import {
  type CliContext,
  closeWithin,
  type GlobalOptions,
  globalOptions,
  missingSqliteFile,
  openPlinth,
  resolveConfig,
  withTimeout,
} from '../instance.js';
import { formatError, printJson, printLines } from '../output.js';

/**
 * `plinth doctor`: is this deployment fit to serve?
 *
 * Terminology:
 * - **fail**: a problem; the command exits 1. An unreachable database or
 *   Redis, a missing SQLite file, an invalid configuration, and pending
 *   migrations (the server would migrate on start, but CI and operators should
 *   notice a schema that lags the code) are problems.
 * - **warn**: worth a look, exit code unchanged: recorded migrations that no
 *   loaded module declares (an application's own modules, or a rollback).
 * - **skip**: not checked (Redis not configured, or a check that needs the
 *   database when the database failed).
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  name: 'config' | 'database' | 'migrations' | 'redis';
  status: CheckStatus;
  message: string;
  latencyMs?: number;
}

export interface DoctorReport {
  /** False when any check failed. */
  ok: boolean;
  dialect?: string;
  /** The database URL without its password. */
  database?: string;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** How long each check may take, in ms; default 3000. */
  timeoutMs?: number;
}

const since = (started: number) => Math.round((performance.now() - started) * 10) / 10;

async function checkDatabase(config: Readonly<PlinthConfig>, timeoutMs: number): Promise<DoctorCheck> {
  const missing = missingSqliteFile(config.databaseUrl);
  if (missing) return { name: 'database', status: 'fail', message: `database file does not exist: ${missing}` };
  // fileMustExist: the doctor looks, it never creates a database.
  const storage = createStorage(config, { fileMustExist: true });
  const started = performance.now();
  try {
    await withTimeout(storage.ping(), timeoutMs, 'the database');
    return { name: 'database', status: 'ok', message: `reachable (${storage.dialect})`, latencyMs: since(started) };
  } catch (error) {
    return { name: 'database', status: 'fail', message: `unreachable: ${formatError(error)}`, latencyMs: since(started) };
  } finally {
    await closeWithin(storage, 1000);
  }
}

async function checkMigrations(plinth: Plinth, timeoutMs: number): Promise<DoctorCheck> {
  const started = performance.now();
  try {
    const status = await withTimeout(plinth.migrator.status(), timeoutMs, 'the database');
    const latencyMs = since(started);
    const pending = status.filter((s) => s.appliedAt === null);
    const unknown = status.filter((s) => s.unknown);
    const declared = status.length - unknown.length;
    if (pending.length) {
      const ids = pending.map((s) => s.id).join(', ');
      return { name: 'migrations', status: 'fail', message: `${pending.length} of ${declared} pending (${ids}): run \`plinth migrate up\``, latencyMs };
    }
    if (unknown.length) {
      const ids = unknown.map((s) => s.id).join(', ');
      return { name: 'migrations', status: 'warn', message: `all ${declared} applied; not declared by any loaded module: ${ids}`, latencyMs };
    }
    return { name: 'migrations', status: 'ok', message: `all ${declared} applied`, latencyMs };
  } catch (error) {
    return { name: 'migrations', status: 'fail', message: `cannot read: ${formatError(error)}`, latencyMs: since(started) };
  }
}

async function checkRedis(plinth: Plinth, config: Readonly<PlinthConfig>, timeoutMs: number): Promise<DoctorCheck> {
  const redis = plinth.redis;
  if (!redis || !config.redisUrl) return { name: 'redis', status: 'skip', message: 'not configured (PLINTH_REDIS_URL)' };
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  const started = performance.now();
  try {
    await withTimeout(redis.ping(), timeoutMs, 'Redis');
    return { name: 'redis', status: 'ok', message: `reachable (${redactUrl(config.redisUrl)})`, latencyMs: since(started) };
  } catch (error) {
    // ioredis reports "max retries reached"; the connection error says why.
    const reason = formatError(lastError ?? error);
    return { name: 'redis', status: 'fail', message: `unreachable: ${reason}`, latencyMs: since(started) };
  }
}

const skipped = (name: DoctorCheck['name'], why: string): DoctorCheck => ({ name, status: 'skip', message: `skipped: ${why}` });

/** Runs every check; never throws, never waits much longer than `timeoutMs` per check. */
export async function gatherDoctor(globals: GlobalOptions, ctx: CliContext, options: DoctorOptions = {}): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? 3000;
  let config: Readonly<PlinthConfig>;
  try {
    config = resolveConfig(globals);
  } catch (error) {
    const why = 'the configuration is invalid';
    return {
      ok: false,
      checks: [
        { name: 'config', status: 'fail', message: formatError(error) },
        skipped('database', why),
        skipped('migrations', why),
        skipped('redis', why),
      ],
    };
  }
  const plinth = openPlinth(config, ctx);
  try {
    const [database, redis] = await Promise.all([checkDatabase(config, timeoutMs), checkRedis(plinth, config, timeoutMs)]);
    const migrations = database.status === 'ok' ? await checkMigrations(plinth, timeoutMs) : skipped('migrations', 'the database check failed');
    const checks: DoctorCheck[] = [{ name: 'config', status: 'ok', message: `valid (${config.env})` }, database, migrations, redis];
    return {
      ok: checks.every((c) => c.status !== 'fail'),
      dialect: plinth.storage.dialect,
      database: redactUrl(config.databaseUrl),
      checks,
    };
  } finally {
    await closeWithin(plinth, 1000);
  }
}

const symbol: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

export function printDoctor(report: DoctorReport): void {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  printLines([
    report.database ? `Plinth doctor: ${report.dialect} ${report.database}` : 'Plinth doctor',
    ...report.checks.map((c) => {
      const latency = c.latencyMs === undefined || c.status === 'fail' ? '' : ` ${c.latencyMs} ms`;
      return `${symbol[c.status]} ${c.name.padEnd(width)}  ${c.message}${latency}`;
    }),
    failed
      ? `${failed} problem${failed === 1 ? '' : 's'} found.`
      : `All checks passed${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}.`,
  ]);
}

function parseTimeout(value: string): number {
  const ms = Number(value);
  if (!/^\d+$/.test(value) || ms < 1) throw new InvalidArgumentError('must be a whole number of milliseconds.');
  return ms;
}

export function addDoctorCommand(program: Command, ctx: CliContext): Command {
  return program
    .command('doctor')
    .description('Check the configuration, the database, pending migrations and Redis; exit 1 on any problem')
    .option('--timeout <ms>', 'how long each check may take', parseTimeout, 3000)
    .addHelpText(
      'after',
      [
        '',
        'Checks (✓ ok, ✗ problem, ! warning, - skipped):',
        '  config      PLINTH_* variables and flags are valid',
        '  database    reachable; a SQLite file must already exist (doctor never creates it)',
        '  migrations  none pending (pending is a problem: run `plinth migrate up`);',
        '              recorded migrations no loaded module declares are a warning',
        '  redis       reachable, when PLINTH_REDIS_URL or --redis-url is set',
      ].join('\n'),
    )
    .action(
      action(async (opts: { timeout: number }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherDoctor(globals, ctx, { timeoutMs: opts.timeout });
        if (globals.json) printJson(report);
        else printDoctor(report);
        return report.ok ? 0 : 1;
      }),
    );
}
