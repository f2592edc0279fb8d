/** Where Plinth reads the time from. Inject a fixed or manual clock in tests. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: for tests of expiry, leases and the like. */
export interface ManualClock extends Clock {
  set(ms: number | Date): void;
  advance(ms: number): void;
}

export function createManualClock(start: number | Date = Date.UTC(2026, 0, 1)): ManualClock {
  let current = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => current,
    set: (ms) => {
      current = typeof ms === 'number' ? ms : ms.getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

/** RFC 3339 timestamp in UTC with millisecond precision, the form Plinth stores and speaks. */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
