/** `@plinth/cli`: the `plinth` command, also usable as a library (embed it with your own modules). */
export { createProgram } from './program.js';
export { runCli } from './run.js';
export type { CreateProgramOptions } from './program.js';
export { gatherDoctor, printDoctor } from './commands/doctor.js';
export type { CheckStatus, DoctorCheck, DoctorOptions, DoctorReport } from './commands/doctor.js';
export { gatherMigrateDown, gatherMigrateUp, gatherMigrationStatus } from './commands/migrate.js';
export type { MigrateDownReport, MigrateUpReport, MigrationRow, MigrationState, MigrationStatusReport } from './commands/migrate.js';
export { startServer } from './commands/serve.js';
export type { Listening, RunningServer, ServeOptions } from './commands/serve.js';
export type { CliContext, GlobalOptions } from './instance.js';
