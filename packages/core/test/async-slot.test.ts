import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createAsyncSlot } from '../src/async-slot.js';

describe('async slots', () => {
  it('carry a value through awaits and promise callbacks, and nowhere else', async () => {
    const slot = createAsyncSlot<string>();
    const seen: (string | undefined)[] = [];
    const done = slot.run('a', async () => {
      seen.push(slot.get());
      await sleep(5);
      seen.push(slot.get());
      await Promise.resolve().then(() => seen.push(slot.get()));
      return 'result';
    });
    seen.push(slot.get()); // right after run, outside it
    expect(await done).toBe('result');
    expect(seen).toEqual(['a', undefined, 'a', 'a']);
    expect(slot.get()).toBeUndefined();
  });

  it('keeps concurrent runs apart', async () => {
    const slot = createAsyncSlot<number>();
    const one = async (n: number) =>
      slot.run(n, async () => {
        await sleep(10 - n * 3);
        return slot.get();
      });
    expect(await Promise.all([one(1), one(2), one(3)])).toEqual([1, 2, 3]);
  });

  it('nests: an inner run of one slot hides the outer value only inside it; other slots stay visible', async () => {
    const a = createAsyncSlot<string>();
    const b = createAsyncSlot<string>();
    const seen = await a.run('outer', async () => {
      await sleep(1);
      const inner = await a.run('inner', async () => {
        await sleep(1);
        return b.run('b', async () => {
          await sleep(1);
          return `${a.get()}+${b.get()}`;
        });
      });
      return [inner, a.get(), b.get()];
    });
    expect(seen).toEqual(['inner+b', 'outer', undefined]);
  });

  it('restores the outer value when the function throws', () => {
    const slot = createAsyncSlot<string>();
    slot.run('outer', () => {
      expect(() =>
        slot.run('inner', () => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(slot.get()).toBe('outer');
    });
  });
});
