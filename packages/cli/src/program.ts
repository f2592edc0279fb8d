import { readFileSync } from 'node:fs';
import type { AnyModule } from '@plinth/core';
import { Command } from 'commander';
import { addAdminCommands } from './commands/admin.js';
import { addAuditCommand } from './commands/audit.js';
import { addBackupCommand } from './commands/backup.js';
import { addDoctorCommand } from './commands/doctor.js';
import { addJobsCommand } from './commands/jobs.js';
import { addWebhooksCommand } from './commands/webhooks.js';
import { addKeysCommand } from './commands/keys.js';
import { addMigrateCommand } from './commands/migrate.js';
import { addReportsCommand } from './commands/reports.js';
import { addSeedCommand } from './commands/seed.js';
import { addServeCommand } from './commands/serve.js';
import { addUsersCommand } from './commands/users.js';
import { addWorkerCommand } from './commands/worker.js';
import type { CliContext } from './instance.js';

export interface CreateProgramOptions {
  /** Application modules to load besides the kernel's; default none. */
  modules?: readonly AnyModule[];
}

function packageVersion(): string {
  // src/ and dist/ both sit one level below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The `plinth` program. Global options are declared here once and read by each
 * command with `optsWithGlobals()`; they may come before or after the command.
 */
export function createProgram(options: CreateProgramOptions = {}): Command {
  const ctx: CliContext = { modules: options.modules ?? [] };
  const program = new Command('plinth')
    .description('Run and operate a Plinth backend')
    .version(packageVersion(), '-v, --version', 'print the version')
    .option('--database-url <url>', 'database URL: sqlite:./file.db or postgres://... (default: PLINTH_DATABASE_URL or sqlite:./.plinth/plinth.db)')
    .option('--redis-url <url>', 'Redis URL (default: PLINTH_REDIS_URL; none)')
    .option('--json', 'print machine-readable JSON on stdout')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      [
        '',
        'Configuration comes from PLINTH_* environment variables (PLINTH_DATABASE_URL, PLINTH_REDIS_URL,',
        'PLINTH_HOST, PLINTH_PORT, PLINTH_LOG_LEVEL, ...); flags win. Errors are one line on stderr;',
        'set PLINTH_DEBUG=1 for stack traces.',
      ].join('\n'),
    );
  addServeCommand(program, ctx);
  addMigrateCommand(program, ctx);
  addDoctorCommand(program, ctx);
  addUsersCommand(program, ctx);
  addKeysCommand(program, ctx);
  addAuditCommand(program, ctx);
  addBackupCommand(program, ctx);
  addWorkerCommand(program, ctx);
  addJobsCommand(program, ctx);
  addWebhooksCommand(program, ctx);
  addSeedCommand(program, ctx);
  addReportsCommand(program, ctx);
  addAdminCommands(program, ctx);
  return program;
}
