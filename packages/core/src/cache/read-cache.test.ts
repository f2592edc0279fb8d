/**
 * The PostgreSQL half of the read cache's freshness rule, with a storage whose commit
 * watermark the test moves: an entry past `maxAgeMs` is served only when a reading less than
 * `maxAgeMs` old shows that nothing was committed since its load. (The database tests, on both
 * dialects, are in test/read-cache.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.js';
import { createReadCache } from './read-cache.js';

function setUp() {
  const clock = createManualClock();
  const storage = {
    version: 0,
    mark: 'A',
    readings: 0,
    failing: false,
    seesOtherProcesses: false,
    changeVersion: () => storage.version,
    async commitWatermark() {
      storage.readings++;
      if (storage.failing) throw new Error('the server is a standby');
      return storage.mark;
    },
  };
  const cache = createReadCache({ storage, clock, maxEntries: 100, maxAgeMs: 1000, inTransaction: () => false });
  let loads = 0;
  const read = (key: string) =>
    cache.get(key, async () => {
      loads++;
      return { key, load: loads };
    });
  /** Lets a background watermark reading finish. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { clock, storage, cache, read, settle, loads: () => loads };
}

describe('read cache: the commit watermark (PostgreSQL)', () => {
  it('serves an entry past maxAgeMs while the watermark has not moved, with one reading for every entry', async () => {
    const { clock, storage, read, settle, loads } = setUp();
    await read('a'); // the first load starts the first reading; it knows no watermark yet
    await settle();
    clock.advance(1000);
    await read('a'); // expired, and loaded without a watermark: loaded again, now with one
    await read('b');
    expect(loads()).toBe(3);

    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      expect(await read('a')).toEqual({ key: 'a', load: 2 });
      expect(await read('b')).toEqual({ key: 'b', load: 3 });
    }
    expect(loads()).toBe(3);
    expect(storage.readings).toBe(2 + 5); // the loads' two, then one per window, shared by both entries
  });

  it('reloads once the watermark moved: a commit elsewhere is never missed for longer than maxAgeMs', async () => {
    const { clock, storage, read, settle, loads } = setUp();
    await read('a');
    await settle();
    clock.advance(1000);
    await read('a');
    storage.mark = 'B'; // another process committed
    expect(await read('a')).toEqual({ key: 'a', load: 2 }); // within maxAgeMs: still served
    clock.advance(1000);
    expect(await read('a')).toEqual({ key: 'a', load: 3 });
    expect(loads()).toBe(3);
  });

  it('falls back to the age limit when the watermark cannot be read', async () => {
    const { clock, storage, read, settle, loads } = setUp();
    storage.failing = true;
    await read('a');
    await settle();
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await read('a');
      await settle();
    }
    expect(loads()).toBe(4);
  });

  it('reloads after a write through this instance, even with an unchanged watermark', async () => {
    const { clock, storage, read, settle, loads } = setUp();
    await read('a');
    await settle();
    clock.advance(1000);
    await read('a');
    storage.version++;
    clock.advance(1000);
    expect(await read('a')).toEqual({ key: 'a', load: 3 });
    expect(loads()).toBe(3);
  });

  it('reads nothing while idle, and never on SQLite-like storage that sees every commit', async () => {
    const { clock, storage } = setUp();
    clock.advance(60_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(storage.readings).toBe(0);

    const sqliteLike = { ...storage, seesOtherProcesses: true, readings: 0 };
    const cache = createReadCache({ storage: sqliteLike, clock, maxEntries: 10, maxAgeMs: 1000, inTransaction: () => false });
    await cache.get('a', async () => 1);
    clock.advance(60_000);
    expect(await cache.get('a', async () => 2)).toBe(1);
    expect(sqliteLike.readings).toBe(0);
  });

  it('peek answers what get would answer at once, and nothing it would have to wait or load for', async () => {
    const { clock, storage, cache, read, loads } = setUp();
    expect(cache.peek('a')).toBeUndefined(); // never loaded
    await read('a');
    expect(cache.peek('a')).toEqual({ key: 'a', load: 1 });
    expect(cache.stats.memoryHits).toBe(1);
    storage.version++; // a write through this instance
    expect(cache.peek('a')).toBeUndefined();
    await read('a');
    clock.advance(1000); // past its age: only get may confirm it with a watermark reading
    expect(cache.peek('a')).toBeUndefined();
    expect(loads()).toBe(2);

    let inTransaction = false;
    const sqliteLike = { ...storage, seesOtherProcesses: true };
    const other = createReadCache({ storage: sqliteLike, clock, maxEntries: 10, maxAgeMs: 1000, inTransaction: () => inTransaction });
    await other.get('b', async () => 'b');
    clock.advance(60_000);
    expect(other.peek('b')).toBe('b'); // SQLite-like storage: no age limit
    inTransaction = true;
    expect(other.peek('b')).toBeUndefined(); // a transaction reads around the cache
  });

  it('concurrent misses of a key share one load, unless a write, an announcement or maxAgeMs came between', async () => {
    const { clock, storage, cache } = setUp();
    const gates: (() => void)[] = [];
    let loads = 0;
    /** A load that waits until the test opens it (gates[n]), then answers its number. */
    const read = (key: string) =>
      cache.get(key, async () => {
        const n = ++loads;
        await new Promise<void>((open) => gates.push(open));
        return { key, load: n };
      });
    const open = async () => {
      for (const gate of gates.splice(0)) gate();
      await new Promise((resolve) => setImmediate(resolve));
    };

    const first = [read('a'), read('a'), read('a'), read('b')];
    await open();
    expect(await Promise.all(first)).toEqual([{ key: 'a', load: 1 }, { key: 'a', load: 1 }, { key: 'a', load: 1 }, { key: 'b', load: 2 }]);
    expect(cache.stats).toMatchObject({ misses: 2, memoryHits: 2 });

    // A write through this instance while a load runs: a later caller must not get what it loads.
    storage.version++;
    const before = read('a');
    storage.version++;
    const after = read('a');
    // Another process announced a commit: the same.
    cache.remoteInvalidated(['note:a']);
    const announced = read('a');
    // A load running for maxAgeMs is not joined either (stuck, or too old to vouch for).
    clock.advance(1000);
    const late = read('a');
    await open();
    expect((await Promise.all([before, after, announced, late])).map((v) => v.load)).toEqual([3, 4, 5, 6]);

    // A failed load fails its joiners, then is forgotten.
    storage.version++;
    let fail = true;
    let failingLoads = 0;
    const failing = () =>
      cache.get('c', async () => {
        failingLoads++;
        await new Promise<void>((open) => gates.push(open));
        if (fail) throw new Error('database down');
        return 'c';
      });
    const both = Promise.allSettled([failing(), failing()]);
    await open();
    for (const result of await both) expect(result).toMatchObject({ status: 'rejected' });
    expect(failingLoads).toBe(1);
    fail = false;
    const again = failing();
    await open();
    expect(await again).toBe('c');
    expect(failingLoads).toBe(2);
  });

  describe('with a bulk check (Revalidation)', () => {
    function withStamps() {
      const base = setUp();
      const stamps = new Map<string, string>([['a', 's1'], ['b', 's1']]);
      const calls: string[][] = [];
      let failing = false;
      const revalidation = {
        stampOf: (value: unknown) => (value as { stamp: string }).stamp,
        async current(keys: readonly string[]) {
          calls.push([...keys]);
          if (failing) throw new Error('connection lost');
          return new Map([...stamps].filter(([key]) => keys.includes(key)));
        },
      };
      let loads = 0;
      const read = (key: string) =>
        base.cache.get(key, async () => ({ key, load: ++loads, stamp: stamps.get(key)! }), { revalidation });
      return { ...base, stamps, calls, read, loads: () => loads, fail: () => (failing = true) };
    }

    it('keeps unchanged entries past maxAgeMs with one check for all of them, though the watermark moves', async () => {
      const { clock, storage, cache, read, settle, calls, loads } = withStamps();
      await read('a');
      await read('b');
      for (let i = 0; i < 6; i++) {
        storage.mark = `M${i}`; // a busy server: every reading differs
        clock.advance(600); // past half the age: a hit starts the check in the background
        expect(cache.peek('a')).toMatchObject({ load: 1 });
        expect(await read('b')).toMatchObject({ load: 2 });
        await settle();
      }
      expect(loads()).toBe(2);
      expect(calls.length).toBe(6);
      expect(calls[0]).toEqual(expect.arrayContaining(['a', 'b']));
    });

    it('loads an entry again once its stamp changed, within maxAgeMs of the change', async () => {
      const { clock, stamps, cache, read, settle, calls, loads } = withStamps();
      await read('a');
      stamps.set('a', 's2'); // committed elsewhere
      clock.advance(600);
      expect(cache.peek('a')).toMatchObject({ load: 1 }); // within maxAgeMs of its load
      await settle(); // the check sees the change: the entry is left to expire
      clock.advance(100);
      expect(cache.peek('a')).toMatchObject({ load: 1 }); // still due, but checks start at most every maxAgeMs / 4
      await settle();
      expect(calls.length).toBe(1);
      clock.advance(300);
      expect(cache.peek('a')).toBeUndefined();
      expect(await read('a')).toMatchObject({ load: 2, stamp: 's2' });
      expect(loads()).toBe(2);
    });

    it('an expired entry waits for the check instead of loading; a failed check lets it expire; a write here drops it at once', async () => {
      const { clock, storage, cache, read, settle, calls, loads, fail } = withStamps();
      await read('a');
      clock.advance(5000); // never hit meanwhile: checked when asked for
      expect(await read('a')).toMatchObject({ load: 1 });
      expect(calls.length).toBe(1);
      storage.version++;
      expect(cache.peek('a')).toBeUndefined();
      expect(await read('a')).toMatchObject({ load: 2 });
      fail();
      storage.mark = 'B'; // and the watermark moved: nothing confirms it
      clock.advance(600);
      expect(cache.peek('a')).toMatchObject({ load: 2 });
      await settle();
      clock.advance(400);
      expect(await read('a')).toMatchObject({ load: 3 });
      expect(loads()).toBe(3);
    });
  });
});
