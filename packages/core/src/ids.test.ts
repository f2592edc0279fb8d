import { describe, expect, it } from 'vitest';
import { createIdGenerator, createManualClock } from './index.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp at the front of a UUIDv7. */
const timestampOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

function expectStrictlyIncreasing(ids: string[]) {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!)) throw new Error(`id ${i} (${ids[i]}) does not sort after ${ids[i - 1]}`);
  }
}

describe('ids', () => {
  it('are UUIDv7 strings stamped with the clock time', () => {
    const clock = createManualClock(Date.UTC(2026, 4, 6, 7, 8, 9, 123));
    const ids = createIdGenerator(clock);
    const id = ids.next();
    expect(id).toMatch(UUID_V7);
    expect(timestampOf(id)).toBe(clock.now());
  });

  it('sort in time order as the clock moves', () => {
    const clock = createManualClock();
    const ids = createIdGenerator(clock);
    const seen: string[] = [];
    for (let i = 0; i < 200; i++) {
      seen.push(ids.next());
      clock.advance(i % 3);
    }
    expectStrictlyIncreasing(seen);
    expect([...seen].sort()).toEqual(seen);
  });

  it('stay strictly increasing with the clock stuck at one millisecond', () => {
    const clock = createManualClock();
    const ids = createIdGenerator(clock);
    const seen = Array.from({ length: 10_000 }, () => ids.next());
    expectStrictlyIncreasing(seen);
    expect(new Set(seen).size).toBe(seen.length);
    expect(timestampOf(seen.at(-1)!)).toBe(clock.now());
  });

  it('stay strictly increasing when the clock steps back one second', () => {
    const clock = createManualClock();
    const ids = createIdGenerator(clock);
    const seen: string[] = [];
    for (let i = 0; i < 100; i++) seen.push(ids.next());
    clock.advance(-1000);
    for (let i = 0; i < 100; i++) {
      seen.push(ids.next());
      clock.advance(5);
    }
    expectStrictlyIncreasing(seen);
  });

  it('use the system clock by default in createPlinth', async () => {
    const { createPlinth } = await import('./index.js');
    const plinth = createPlinth({ databaseUrl: 'sqlite::memory:', processEnv: false });
    try {
      const before = Date.now();
      const id = plinth.ids.next();
      expect(timestampOf(id)).toBeGreaterThanOrEqual(before);
      expect(timestampOf(id)).toBeLessThanOrEqual(Date.now());
    } finally {
      await plinth.close();
    }
  });
});
