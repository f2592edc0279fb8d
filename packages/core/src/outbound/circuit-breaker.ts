/**
 * A circuit breaker per outbound destination (an SMTP server, an SMS provider, a
 * webhook endpoint).
 *
 * - closed: calls go through. After `failureThreshold` consecutive failures, or when
 *   at least `minimumCalls` of the last `windowSize` calls ran and `failureRate` of them
 *   failed, the breaker opens.
 * - open: calls fail at once with `CircuitOpenError` (carrying how long until a probe is
 *   allowed) for `openMs`. Job handlers let it propagate: the worker puts the job back in
 *   the queue for that long instead of retrying it in a tight loop or dropping it.
 * - half-open: after `openMs`, one probe call goes through (others still get
 *   `CircuitOpenError`); its success closes the breaker, its failure opens it again.
 *
 * Every call has a timeout (`timeoutMs`): the callee gets an `AbortSignal` that aborts
 * when it runs out, and the call fails with `OutboundTimeoutError` whether or not the
 * callee honours the signal.
 */
import type { Clock } from '../clock.js';
import { PlinthError } from '../errors.js';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker; default 5. */
  failureThreshold?: number;
  /** Share of failed calls in the window that opens the breaker (0 < rate ≤ 1); default 0.5. */
  failureRate?: number;
  /** Calls the window must hold before the failure rate counts; default 10. */
  minimumCalls?: number;
  /** Calls remembered for the failure rate; default 20. */
  windowSize?: number;
  /** How long the breaker stays open before a probe, in ms; default 30000. */
  openMs?: number;
  /** Timeout of each call, in ms; default 10000. */
  timeoutMs?: number;
  /** Errors that say nothing about the destination's health (e.g. a rejected recipient) and do not count; default none. */
  isNeutral?: (error: unknown) => boolean;
}

export interface CircuitCallOptions {
  /** This call's timeout; default the breaker's. */
  timeoutMs?: number;
  /** Aborts the call from outside (a stopping worker); the breaker does not count it. */
  signal?: AbortSignal;
}

export interface CircuitBreaker {
  readonly destination: string;
  readonly state: CircuitState;
  /** Ms until an open breaker lets a probe through (0 unless open). */
  retryInMs(): number;
  /** Runs `fn` through the breaker with a timeout; throws `CircuitOpenError` without calling it when open. */
  call<T>(fn: (signal: AbortSignal) => Promise<T>, options?: CircuitCallOptions): Promise<T>;
  /** Forgets all failures and closes the breaker. */
  reset(): void;
}

/** The breaker is open: nothing was sent. `retryAfterMs` says when to try again. */
export class CircuitOpenError extends PlinthError {
  readonly retryAfterMs: number;
  readonly destination: string;
  constructor(destination: string, retryAfterMs: number) {
    super('outbound.circuit_open', `The circuit to ${destination} is open (too many recent failures); retry in ${Math.ceil(retryAfterMs / 1000)} s`, {
      status: 503,
      details: { destination, retryAfterMs },
    });
    this.destination = destination;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The call took longer than its timeout. */
export class OutboundTimeoutError extends PlinthError {
  constructor(destination: string, timeoutMs: number) {
    super('outbound.timeout', `${destination} did not answer within ${timeoutMs} ms`, { status: 504, details: { destination, timeoutMs } });
  }
}

export interface ResolvedBreakerOptions {
  failureThreshold: number;
  failureRate: number;
  minimumCalls: number;
  windowSize: number;
  openMs: number;
  timeoutMs: number;
  isNeutral: ((error: unknown) => boolean) | undefined;
}

export const breakerDefaults = { failureThreshold: 5, failureRate: 0.5, minimumCalls: 10, windowSize: 20, openMs: 30_000, timeoutMs: 10_000 } as const;

export function resolveBreakerOptions(options: CircuitBreakerOptions = {}): ResolvedBreakerOptions {
  const o = { ...breakerDefaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedBreakerOptions;
  const whole = (name: keyof ResolvedBreakerOptions, min: number) => {
    const v = o[name] as number;
    if (!Number.isInteger(v) || v < min) throw new PlinthError('config.invalid', `Circuit breaker ${name} must be a whole number >= ${min}`);
  };
  whole('failureThreshold', 1);
  whole('minimumCalls', 1);
  whole('windowSize', 1);
  whole('openMs', 0);
  whole('timeoutMs', 1);
  if (!(o.failureRate > 0 && o.failureRate <= 1)) throw new PlinthError('config.invalid', 'Circuit breaker failureRate must be within (0, 1]');
  return { ...o, isNeutral: options.isNeutral };
}

/** Creates a breaker; `onState` hears every change (the registry feeds the metrics gauge from it). */
export function createCircuitBreaker(
  destination: string,
  options: CircuitBreakerOptions = {},
  deps: { clock?: Clock; onState?: (state: CircuitState) => void } = {},
): CircuitBreaker {
  const o = resolveBreakerOptions(options);
  const now = () => (deps.clock ? deps.clock.now() : Date.now());
  let state: CircuitState = 'closed';
  let consecutive = 0;
  let window: boolean[] = []; // true = failed
  let openedAt = 0;
  let probing = false;

  const setState = (next: CircuitState) => {
    if (next === state) return;
    state = next;
    deps.onState?.(next);
  };
  const open = () => {
    openedAt = now();
    consecutive = 0;
    window = [];
    setState('open');
  };
  const retryInMs = () => (state === 'open' ? Math.max(0, openedAt + o.openMs - now()) : 0);

  function record(failed: boolean, probe: boolean): void {
    if (probe) {
      probing = false;
      if (failed) open();
      else {
        consecutive = 0;
        window = [];
        setState('closed');
      }
      return;
    }
    if (state !== 'closed') return; // an old call finishing after the breaker moved on
    consecutive = failed ? consecutive + 1 : 0;
    window.push(failed);
    if (window.length > o.windowSize) window.shift();
    const failures = window.filter(Boolean).length;
    if (consecutive >= o.failureThreshold || (window.length >= o.minimumCalls && failures / window.length >= o.failureRate)) open();
  }

  async function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, timeoutMs: number, outer: AbortSignal | undefined): Promise<T> {
    const controller = new AbortController();
    const onOuter = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new OutboundTimeoutError(destination, timeoutMs);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const aborted = new Promise<never>((_, reject) => {
      if (outer?.aborted) reject(outer.reason);
      outer?.addEventListener('abort', () => reject(outer.reason), { once: true });
    });
    const called = Promise.resolve().then(() => fn(controller.signal));
    called.catch(() => undefined); // may settle after the timeout
    try {
      return await Promise.race([called, timedOut, aborted]);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  return {
    destination,
    get state() {
      if (state === 'open' && retryInMs() === 0) setState('half_open');
      return state;
    },
    retryInMs,
    async call(fn, callOptions = {}) {
      let probe = false;
      if (state === 'open') {
        const wait = retryInMs();
        if (wait > 0) throw new CircuitOpenError(destination, wait);
        setState('half_open');
      }
      if (state === 'half_open') {
        // One probe at a time; the others wait for its verdict a little while.
        if (probing) throw new CircuitOpenError(destination, Math.max(1000, Math.min(o.openMs, o.timeoutMs)));
        probing = true;
        probe = true;
      }
      try {
        const result = await withTimeout(fn, callOptions.timeoutMs ?? o.timeoutMs, callOptions.signal);
        record(false, probe);
        return result;
      } catch (error) {
        if (callOptions.signal?.aborted && error === callOptions.signal.reason) {
          if (probe) probing = false; // not the destination's fault: let the next call probe
        } else if (o.isNeutral?.(error)) {
          record(false, probe);
        } else {
          record(true, probe);
        }
        throw error;
      }
    },
    reset() {
      consecutive = 0;
      window = [];
      probing = false;
      setState('closed');
    },
  };
}
