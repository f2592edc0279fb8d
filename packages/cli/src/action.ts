import type { Command } from 'commander';
import { globalOptions } from './instance.js';
import { reportError } from './output.js';

/**
 * Wraps a command's action: a returned number becomes the exit code, and a
 * thrown error is reported as one line (no stack) with exit code 1.
 */
export function action<O>(fn: (options: O, cmd: Command) => Promise<number | void>): (options: O, cmd: Command) => Promise<void> {
  return async (options, cmd) => {
    try {
      const code = await fn(options, cmd);
      if (code) process.exitCode = code;
    } catch (error) {
      reportError(error, { json: globalOptions(cmd).json });
      process.exitCode = 1;
    }
  };
}
