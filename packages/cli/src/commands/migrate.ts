import { type DialectName, type Plinth, type PlinthConfig, redactUrl } from '@plinth/core';
import { type Command, InvalidArgumentError } from 'commander';
import { action } from '../action.js';
import { type CliContext, closeWithin, globalOptions, missingSqliteFile, openPlinth, resolveConfig } from '../instance.js';
import { columns, printJson, printLines } from '../output.js';

export type MigrationState = 'applied' | 'pending' | 'unknown';

export interface MigrationRow {
  /** `module/name`. */
  id: string;
  module: string;
  name: string;
  state: MigrationState;
  /** ISO time, or null while pending. */
  appliedAt: string | null;
}

interface Target {
  dialect: DialectName;
  /** The database URL without its password. */
  database: string;
}

export interface MigrationStatusReport extends Target {
  /** False for a SQLite file that does not exist yet (status never creates it). */
  databaseExists: boolean;
  migrations: MigrationRow[];
  applied: number;
  pending: number;
  /** Recorded migrations that no loaded module declares. */
  unknown: number;
}

export interface MigrateUpReport extends Target {
  /** Ids applied, in order; empty when the database was up to date. */
  applied: string[];
}

export interface MigrateDownReport extends Target {
  /** Ids reverted, in order; empty when nothing was applied. */
  reverted: string[];
}

async function withPlinth<T>(config: Readonly<PlinthConfig>, ctx: CliContext, fn: (plinth: Plinth, target: Target) => Promise<T>): Promise<T> {
  const plinth = openPlinth(config, ctx);
  try {
    return await fn(plinth, { dialect: plinth.storage.dialect, database: redactUrl(config.databaseUrl) });
  } finally {
    await closeWithin(plinth);
  }
}

/** Every declared migration as pending: what a database that does not exist yet would need. */
function declaredMigrations(plinth: Plinth): MigrationRow[] {
  return plinth.modules.flatMap((m) =>
    (m.migrations ?? []).map((migration) => ({
      id: `${m.name}/${migration.name}`,
      module: m.name,
      name: migration.name,
      state: 'pending' as const,
      appliedAt: null,
    })),
  );
}

export function gatherMigrationStatus(config: Readonly<PlinthConfig>, ctx: CliContext): Promise<MigrationStatusReport> {
  return withPlinth(config, ctx, async (plinth, target) => {
    const missing = missingSqliteFile(config.databaseUrl);
    const migrations: MigrationRow[] = missing
      ? declaredMigrations(plinth)
      : (await plinth.migrator.status()).map((s) => ({
          id: s.id,
          module: s.module,
          name: s.name,
          state: s.unknown ? 'unknown' : s.appliedAt ? 'applied' : 'pending',
          appliedAt: s.appliedAt,
        }));
    const count = (state: MigrationState) => migrations.filter((m) => m.state === state).length;
    return {
      ...target,
      databaseExists: !missing,
      migrations,
      applied: count('applied'),
      pending: count('pending'),
      unknown: count('unknown'),
    };
  });
}

export function gatherMigrateUp(config: Readonly<PlinthConfig>, ctx: CliContext): Promise<MigrateUpReport> {
  return withPlinth(config, ctx, async (plinth, target) => ({ ...target, applied: (await plinth.migrator.up()).ids }));
}

export function gatherMigrateDown(config: Readonly<PlinthConfig>, ctx: CliContext, steps: number): Promise<MigrateDownReport> {
  return withPlinth(config, ctx, async (plinth, target) => {
    // Nothing to revert in a SQLite file that does not exist; do not create it to find out.
    if (missingSqliteFile(config.databaseUrl)) return { ...target, reverted: [] };
    return { ...target, reverted: (await plinth.migrator.down(steps)).ids };
  });
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function printMigrationStatus(report: MigrationStatusReport): void {
  const rows = report.migrations.map((m) => [
    m.id,
    m.state === 'pending' ? 'pending' : `applied ${m.appliedAt}`,
    m.state === 'unknown' ? '(unknown: no loaded module declares it)' : '',
  ]);
  const summary = [`${report.applied} applied`, `${report.pending} pending`];
  if (report.unknown) summary.push(`${report.unknown} unknown`);
  printLines([
    `Migrations on ${report.dialect} ${report.database}${report.databaseExists ? '' : ' (the database file does not exist yet)'}`,
    ...(rows.length ? columns(rows) : ['  (no migrations declared)']),
    summary.join(', '),
  ]);
}

export function printMigrateUp(report: MigrateUpReport): void {
  if (!report.applied.length) return printLines(['No pending migrations: the database is up to date.']);
  printLines([`Applied ${plural(report.applied.length, 'migration')} on ${report.dialect}:`, ...report.applied.map((id) => `  ${id}`)]);
}

export function printMigrateDown(report: MigrateDownReport): void {
  if (!report.reverted.length) return printLines(['No migrations to revert: none is applied.']);
  printLines([`Reverted ${plural(report.reverted.length, 'migration')} on ${report.dialect}:`, ...report.reverted.map((id) => `  ${id}`)]);
}

function parseSteps(value: string): number {
  const steps = Number(value);
  if (!/^\d+$/.test(value) || steps < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return steps;
}

export function addMigrateCommand(program: Command, ctx: CliContext): Command {
  const migrate = program
    .command('migrate')
    .description('Apply, revert or list database migrations (SQLite or PostgreSQL)')
    .addHelpText('after', '\nMigrations run in one locked transaction: two processes migrating at once is safe.');

  migrate
    .command('up')
    .description('Apply every pending migration')
    .action(
      action(async (_opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherMigrateUp(resolveConfig(globals), ctx);
        if (globals.json) printJson({ ok: true, ...report });
        else printMigrateUp(report);
      }),
    );

  migrate
    .command('down')
    .description('Revert the last applied migration(s)')
    .option('--steps <n>', 'how many migrations to revert', parseSteps, 1)
    .action(
      action(async (opts: { steps: number }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherMigrateDown(resolveConfig(globals), ctx, opts.steps);
        if (globals.json) printJson({ ok: true, ...report });
        else printMigrateDown(report);
      }),
    );

  migrate
    .command('status')
    .description('List every migration with the time it was applied, or "pending"')
    .action(
      action(async (_opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherMigrationStatus(resolveConfig(globals), ctx);
        if (globals.json) printJson({ ok: true, ...report });
        else printMigrationStatus(report);
      }),
    );

  return migrate;
}
