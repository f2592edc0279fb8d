import { reportError } from './output.js';
import { type CreateProgramOptions, createProgram } from './program.js';

/**
 * Runs `plinth` as a process: parses `argv`, reports any failure as one line,
 * and makes sure a finished command exits. An application with its own
 * modules can ship its own binary with `runCli(process.argv, { modules })`.
 */
export async function runCli(argv: readonly string[] = process.argv, options: CreateProgramOptions = {}): Promise<void> {
  const fail = (error: unknown) => {
    reportError(error);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  try {
    // Resolves when a command is done; `serve` resolves only once its server has closed.
    await createProgram(options).parseAsync([...argv]);
  } catch (error) {
    reportError(error);
    process.exitCode = 1;
  }

  // Commands close what they open, but a driver may still hold a socket to an
  // unreachable host: do not let it keep a finished command alive.
  setTimeout(() => process.exit(), 1000).unref();
}
