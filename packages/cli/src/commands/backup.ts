import {
  type BackupFormat,
  type BackupInfo,
  type BackupProgress,
  backupDir,
  createBackup,
  createFsBackupStore,
  listBackups,
  type PlinthConfig,
  PlinthError,
  type PruneReport,
  pruneBackups,
  type RestoreReport,
  redactUrl,
  restoreBackup,
  type VerifyReport,
  verifyBackup,
} from '@plinth/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { action } from '../action.js';
import { type CliContext, closeWithin, globalOptions, missingSqliteFile, openPlinth, resolveConfig } from '../instance.js';
import { columns, printJson, printLines } from '../output.js';
import { progressBar } from '../progress.js';

/**
 * `plinth backup create|list|verify|restore|prune`.
 *
 * Terminology:
 * - **backup folder**: `--dir`, else `backup.dir` (`PLINTH_BACKUP_DIR`), else
 *   `backups/` beside the SQLite file or `./.plinth/backups`.
 * - **complete**: a backup whose manifest was written (last); `list` shows
 *   only those, so a killed `create` never looks like a backup.
 */
interface DirOption {
  dir?: string;
}

const storeFor = (config: Readonly<PlinthConfig>, opts: DirOption) => createFsBackupStore(opts.dir ?? backupDir(config));

const mb = (bytes: number) => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function gatherCreateBackup(config: Readonly<PlinthConfig>, ctx: CliContext, opts: DirOption & { format: BackupFormat; name?: string }, onProgress?: (progress: BackupProgress) => void): Promise<BackupInfo & { dir: string }> {
  const missing = missingSqliteFile(config.databaseUrl);
  if (missing) throw new PlinthError('backup.not_found', `No database at ${missing}: nothing to back up`);
  const store = storeFor(config, opts);
  const plinth = openPlinth(config, ctx);
  try {
    return { ...(await createBackup(plinth, { store, format: opts.format, name: opts.name, onProgress })), dir: store.location };
  } finally {
    await closeWithin(plinth);
  }
}

export async function gatherBackupList(config: Readonly<PlinthConfig>, opts: DirOption): Promise<{ dir: string; backups: BackupInfo[] }> {
  const store = storeFor(config, opts);
  return { dir: store.location, backups: await listBackups(store) };
}

export function gatherVerifyBackup(config: Readonly<PlinthConfig>, ctx: CliContext, name: string, opts: DirOption): Promise<VerifyReport> {
  return verifyBackup({ store: storeFor(config, opts), name, modules: ctx.modules });
}

export function gatherRestoreBackup(config: Readonly<PlinthConfig>, ctx: CliContext, name: string, opts: DirOption & { force: boolean }, onProgress?: (progress: BackupProgress) => void): Promise<RestoreReport> {
  return restoreBackup({ databaseUrl: config.databaseUrl, store: storeFor(config, opts), name, force: opts.force, modules: ctx.modules, database: config.database, onProgress });
}

export function gatherPruneBackups(config: Readonly<PlinthConfig>, opts: DirOption & { keepLast?: number; keepDaily?: number; dryRun: boolean }): Promise<PruneReport> {
  return pruneBackups(storeFor(config, opts), { keepLast: opts.keepLast, keepDaily: opts.keepDaily, dryRun: opts.dryRun });
}

function describe(b: BackupInfo): string {
  return `${b.dialect}, ${b.format}${b.encoding === 'pg_dump' ? ' (pg_dump)' : ''}, ${mb(b.bytes)}, ${plural(b.tables, 'table')}, ${plural(b.rows, 'row')}`;
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number of at least 0.');
  return Number(value);
}

const dirOption = () => new Option('--dir <path>', 'backup folder (default: backup.dir / PLINTH_BACKUP_DIR, else backups/ beside the SQLite file or ./.plinth/backups)');

export function addBackupCommand(program: Command, ctx: CliContext): Command {
  const backup = program
    .command('backup')
    .description('Back up, verify, restore and prune backups (SQLite or PostgreSQL; online, consistent)')
    .addHelpText('after', '\nBackups are taken while the server keeps serving. A logical backup restores into SQLite or PostgreSQL.');

  backup
    .command('create')
    .description('Take a consistent backup while the server keeps running')
    .addOption(new Option('--format <format>', 'logical: portable gzip JSONL per table; native: the SQLite file (pg_dump on PostgreSQL when installed)').choices(['logical', 'native']).default('logical'))
    .option('--name <name>', 'name of the backup (default: plinth-<time>-<dialect>-<format>)')
    .addOption(dirOption())
    .action(
      action(async (opts: DirOption & { format: BackupFormat; name?: string }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const bar = progressBar(globals.json);
        let info;
        try {
          info = await gatherCreateBackup(resolveConfig(globals), ctx, opts, bar.onProgress);
        } finally {
          bar.stop();
        }
        if (globals.json) printJson({ ok: true, backup: info });
        else printLines([`Backup ${info.name} created in ${info.dir}: ${describe(info)}, schema ${info.schemaVersion ?? '(empty)'}`]);
      }),
    );

  backup
    .command('list')
    .description('List complete backups, newest first (size, time, dialect, format, schema version)')
    .addOption(dirOption())
    .action(
      action(async (opts: DirOption, cmd: Command) => {
        const globals = globalOptions(cmd);
        const { dir, backups } = await gatherBackupList(resolveConfig(globals), opts);
        if (globals.json) return printJson({ ok: true, dir, backups });
        if (!backups.length) return printLines([`No backups in ${dir}`]);
        printLines([
          `Backups in ${dir}:`,
          ...columns([
            ['name', 'created', 'dialect', 'format', 'size', 'rows', 'schema version'],
            ...backups.map((b) => [b.name, b.createdAt, b.dialect, b.encoding === 'pg_dump' ? 'native (pg_dump)' : b.format, mb(b.bytes), String(b.rows), b.schemaVersion ?? '(empty)']),
          ]),
        ]);
      }),
    );

  backup
    .command('verify')
    .description("Check every file's checksum and that the backup restores into a scratch database")
    .argument('<name>', 'the backup (see backup list)')
    .addOption(dirOption())
    .action(
      action(async (name: string, opts: DirOption, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherVerifyBackup(resolveConfig(globals), ctx, name, opts);
        if (globals.json) printJson({ ok: true, verify: report });
        else {
          const how = report.opened === 'pg_restore-list' ? 'pg_restore reads it' : 'it restores into a scratch SQLite database';
          printLines([`Backup ${name} is sound: ${plural(report.files, 'file')} match their checksums and ${how} (${plural(report.tables, 'table')}, ${plural(report.rows, 'row')}).`]);
        }
      }),
    );

  backup
    .command('restore')
    .description('Restore a backup into the configured database (SQLite: stop the server first)')
    .argument('<name>', 'the backup (see backup list)')
    .option('--force', 'replace a database that holds data', false)
    .addOption(dirOption())
    .addHelpText('after', '\nThe restore builds the schema with the backup\'s migrations, loads the rows, then runs newer migrations.\nSQLite: a new file next to the target replaces it only when complete. PostgreSQL: one transaction.')
    .action(
      action(async (name: string, opts: DirOption & { force: boolean }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const config = resolveConfig(globals);
        const bar = progressBar(globals.json);
        let report;
        try {
          report = await gatherRestoreBackup(config, ctx, name, opts, bar.onProgress);
        } finally {
          bar.stop();
        }
        if (globals.json) printJson({ ok: true, restore: report });
        else {
          const newer = report.migrationsApplied.length ? `; then applied ${plural(report.migrationsApplied.length, 'newer migration')}` : '';
          printLines([`Restored ${name} into ${report.dialect} ${redactUrl(config.databaseUrl)}: ${plural(report.tables, 'table')}, ${plural(report.rows, 'row')}${newer}.`]);
        }
      }),
    );

  backup
    .command('prune')
    .description('Delete backups a retention policy does not keep (and leftovers of interrupted ones)')
    .option('--keep-last <n>', 'keep the newest n backups', parseCount)
    .option('--keep-daily <d>', 'keep the newest backup of each of the last d days that have one', parseCount)
    .option('--dry-run', 'only show what would be deleted', false)
    .addOption(dirOption())
    .action(
      action(async (opts: DirOption & { keepLast?: number; keepDaily?: number; dryRun: boolean }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherPruneBackups(resolveConfig(globals), opts);
        if (globals.json) return printJson({ ok: true, prune: report });
        const verb = report.dryRun ? 'Would delete' : 'Deleted';
        printLines([
          `Kept ${plural(report.kept.length, 'backup')}${report.kept.length ? `: ${report.kept.map((b) => b.name).join(', ')}` : ''}`,
          `${verb} ${plural(report.deleted.length, 'backup')}${report.deleted.length ? `: ${report.deleted.map((b) => b.name).join(', ')}` : ''}`,
          ...(report.deletedIncomplete.length ? [`${verb} ${plural(report.deletedIncomplete.length, 'interrupted backup')}: ${report.deletedIncomplete.join(', ')}`] : []),
        ]);
      }),
    );

  return backup;
}
