import { promiseHooks } from 'node:v8';

/**
 * What a log line is tagged with while a request is served or a job runs: the
 * request id and trace id (or the job's id and trace id) on every line written
 * meanwhile, through any logger (`plinth.logger`, a module's `kernel.logger`),
 * added by the loggers' pino `mixin`.
 *
 * The scope follows the code through `await`s and promise callbacks with V8's
 * promise hooks, installed only while some scope is open. Not Node's
 * AsyncLocalStorage: on Node 20 it runs the async_hooks machinery for every
 * promise (measured: +2 to +6 µs of CPU per `GET /v1/me`); these hooks only
 * copy one reference per promise, and come off a second after the last scope
 * closed. Timers and event emitters started inside a
 * scope do not carry it (their lines are written without the ids).
 */
export interface LogScope {
  /** The fields to add to a line; called once per line written, so it may compute them lazily. */
  logFields(): Record<string, unknown>;
}

const SCOPE = Symbol('plinth.logScope');
type Tagged = Promise<unknown> & { [SCOPE]?: LogScope };

let current: LogScope | undefined;
let open = 0;
let stopHooks: (() => void) | undefined;

function enable(): void {
  stopHooks = promiseHooks.createHook({
    // A promise made inside a scope runs its reactions in that scope (an `await` makes one at the await point).
    init(promise) {
      if (current !== undefined) (promise as Tagged)[SCOPE] = current;
    },
    // Reactions run one at a time on an empty stack (where no scope is open), so no stack of
    // outer scopes is needed: a reaction runs in its promise's scope, and after it, in none.
    before(promise) {
      current = (promise as Tagged)[SCOPE];
    },
    after() {
      current = undefined;
    },
  }) as () => void;
}

function disable(): void {
  stopHooks?.();
  stopHooks = undefined;
  current = undefined;
}

/**
 * How long the hooks stay installed once no scope is open. Installing and
 * removing them is costly (`setPromiseHooks` was ~5% of the CPU of a server
 * answering `/healthz`, whose scopes open and close one request at a time), so
 * they come off only after a quiet second: one timer per quiet spell, not one
 * per request.
 */
const IDLE_MS = 1000;
let idleTimer: NodeJS.Timeout | undefined;

function disableIfIdle(): void {
  idleTimer = undefined;
  if (open === 0) disable();
}

const closeOne = () => {
  if (--open === 0 && idleTimer === undefined) {
    idleTimer = setTimeout(disableIfIdle, IDLE_MS);
    idleTimer.unref();
  }
};

/** Runs `fn` in `scope`: lines written by it, and by the promises it makes, carry the scope's fields. */
export function runInLogScope<T>(scope: LogScope, fn: () => T): T {
  if (open++ === 0 && stopHooks === undefined) enable();
  const previous = current;
  current = scope;
  let result: T;
  try {
    result = fn();
  } catch (error) {
    current = previous;
    closeOne();
    throw error;
  }
  current = previous;
  if (result instanceof Promise) result.then(closeOne, closeOne);
  else closeOne();
  return result;
}

/** The scope of the code running now, if any. */
export function currentLogScope(): LogScope | undefined {
  return current;
}

/** The pino `mixin`: the current scope's fields (a fresh object: pino merges the line's own fields into it). */
export function logScopeMixin(): Record<string, unknown> {
  return current === undefined ? {} : current.logFields();
}
