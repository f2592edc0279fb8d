import { describe, expect, it } from 'vitest';
import { RecentMap } from './recent-map.js';

describe('RecentMap', () => {
  it('answers what was set, forgets what was deleted', () => {
    const map = new RecentMap<string, number>(10);
    map.set('a', 1);
    map.set('a', 2);
    expect(map.get('a')).toBe(2);
    expect(map.get('b')).toBeUndefined();
    map.delete('a');
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('never holds more than its maximum, and keeps the entries read recently', () => {
    const map = new RecentMap<number, number>(100);
    for (let i = 0; i < 1000; i++) {
      map.set(i, i);
      expect(map.get(0)).toBe(0); // read on every turn: never dropped
      expect(map.size).toBeLessThanOrEqual(100);
    }
    expect(map.get(999)).toBe(999);
    expect(map.get(500)).toBeUndefined(); // neither recent nor read since
  });

  it('moves an entry of the older generation up on a read, and a set replaces it there', () => {
    const map = new RecentMap<string, number>(4);
    map.set('a', 1);
    map.set('b', 2); // current full (2): next add starts a new generation
    map.set('c', 3);
    expect(map.get('a')).toBe(1); // from the previous generation, moved up
    map.set('b', 20);
    expect(map.get('b')).toBe(20);
    expect(map.size).toBeLessThanOrEqual(4);
  });
});
