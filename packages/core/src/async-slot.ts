import { promiseHooks } from 'node:v8';

/**
 * Values that follow the code through `await`s and promise callbacks: the request's log
 * scope, the current transaction, the trace context of a write. Not Node's
 * AsyncLocalStorage: on Node 20 it runs the async_hooks machinery for every promise in the
 * process (measured: +2 to +6 µs of CPU per `GET /v1/me`, ~10% of a sign-in's main-thread
 * CPU while transactions are open). Here V8's promise hooks copy one reference per promise,
 * are installed only while some slot holds a value, and come off a second after the last
 * one is released.
 *
 * The difference to AsyncLocalStorage: timers and event emitters started inside `run` do
 * not carry the values (a promise they resolve does: whoever awaits it continues where it
 * awaited).
 */
export interface AsyncSlot<T> {
  /** The value of the innermost `run` of this slot around the code running now. */
  get(): T | undefined;
  /** Runs `fn` with `value` in this slot, for it and for the promises it makes. */
  run<R>(value: T, fn: () => R): R;
}

/** One value in one slot, over the values the code was running with (the other slots). */
interface Frame {
  readonly slot: object;
  readonly value: unknown;
  readonly parent: Frame | undefined;
}

const FRAME = Symbol('plinth.asyncFrame');
type Tagged = Promise<unknown> & { [FRAME]?: Frame };

let current: Frame | undefined;
let open = 0;
let stopHooks: (() => void) | undefined;

function enable(): void {
  stopHooks = promiseHooks.createHook({
    // A promise made while values are set runs its reactions with them (an `await` makes one at the await point).
    init(promise) {
      if (current !== undefined) (promise as Tagged)[FRAME] = current;
    },
    // Reactions run one at a time on an empty stack (where nothing is set), so no stack of
    // outer frames is needed: a reaction runs with its promise's frame, and after it, with none.
    before(promise) {
      current = (promise as Tagged)[FRAME];
    },
    after() {
      current = undefined;
    },
  }) as () => void;
}

/**
 * How long the hooks stay installed once nothing is set. Installing and removing them is
 * costly (`setPromiseHooks` was ~5% of the CPU of a server answering `/healthz`, whose
 * scopes open and close one request at a time), so they come off only after a quiet
 * second: one timer per quiet spell, not one per request.
 */
const IDLE_MS = 1000;
let idleTimer: NodeJS.Timeout | undefined;

function disableIfIdle(): void {
  idleTimer = undefined;
  if (open !== 0) return;
  stopHooks?.();
  stopHooks = undefined;
  current = undefined;
}

const closeOne = () => {
  if (--open === 0 && idleTimer === undefined) {
    idleTimer = setTimeout(disableIfIdle, IDLE_MS);
    idleTimer.unref();
  }
};

/** A new slot: each holds its own values (two Plinth instances in one process never see each other's). */
export function createAsyncSlot<T>(): AsyncSlot<T> {
  const slot = {
    get(): T | undefined {
      for (let f = current; f !== undefined; f = f.parent) if (f.slot === slot) return f.value as T;
      return undefined;
    },
    run<R>(value: T, fn: () => R): R {
      if (open++ === 0 && stopHooks === undefined) enable();
      const previous = current;
      current = { slot, value, parent: previous };
      let result: R;
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
    },
  };
  return slot;
}

/**
 * `fn`, to be called later (by a queue, say) with the values set where it was bound, as
 * `AsyncResource.bind` does for AsyncLocalStorage.
 */
export function bindAsyncSlots<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const frame = current;
  if (frame === undefined) return fn;
  return (...args: A): R => {
    const previous = current;
    current = frame;
    try {
      return fn(...args);
    } finally {
      current = previous;
    }
  };
}
