import { createAsyncSlot } from './async-slot.js';

/**
 * What a log line is tagged with while a request is served or a job runs: the
 * request id and trace id (or the job's id and trace id) on every line written
 * meanwhile, through any logger (`plinth.logger`, a module's `kernel.logger`),
 * added by the loggers' pino `mixin`.
 *
 * The scope follows the code through `await`s and promise callbacks (an
 * `AsyncSlot`): timers and event emitters started inside a scope do not carry
 * it (their lines are written without the ids).
 */
export interface LogScope {
  /** The fields to add to a line; called once per line written, so it may compute them lazily. */
  logFields(): Record<string, unknown>;
}

const scopes = createAsyncSlot<LogScope>();

/** Runs `fn` in `scope`: lines written by it, and by the promises it makes, carry the scope's fields. */
export function runInLogScope<T>(scope: LogScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** The scope of the code running now, if any. */
export function currentLogScope(): LogScope | undefined {
  return scopes.get();
}

/** The pino `mixin`: the current scope's fields (a fresh object: pino merges the line's own fields into it). */
export function logScopeMixin(): Record<string, unknown> {
  const scope = scopes.get();
  return scope === undefined ? {} : scope.logFields();
}
