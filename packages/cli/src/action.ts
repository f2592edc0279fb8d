import type { Command } from 'commander';
import { globalOptions } from './instance.js';
import { reportError } from './output.js';

/**
 * Wraps a command's action: a returned number becomes the exit code, and a
 * thrown error is reported as one line (no stack) with exit code 1. Commander
 * passes the command's arguments, then its options, then the command itself.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      const code = await fn(...args);
      if (code) process.exitCode = code;
    } catch (error) {
      const cmd = args[args.length - 1] as Command;
      reportError(error, { json: globalOptions(cmd).json });
      process.exitCode = 1;
    }
  };
}
