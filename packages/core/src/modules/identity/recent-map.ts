/**
 * A bounded map for lookups made on every request: two generations of plain `Map`s. A read
 * hits the current generation, or moves the entry up from the previous one; once the current
 * one holds `max / 2` entries it becomes the previous one and the older one is dropped. So it
 * holds at most `max` entries and keeps the recently used ones, like an LRU, but a hit is one
 * `Map` lookup (no list to reorder, no options object per call).
 */
export class RecentMap<K, V> {
  #current = new Map<K, V>();
  #previous = new Map<K, V>();
  readonly #half: number;

  /** `max`: how many entries it holds at most (at least 2). */
  constructor(max: number) {
    this.#half = Math.max(1, Math.floor(max / 2));
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  get(key: K): V | undefined {
    const value = this.#current.get(key);
    if (value !== undefined) return value;
    const old = this.#previous.get(key);
    if (old !== undefined) {
      this.#previous.delete(key);
      this.#add(key, old);
    }
    return old;
  }

  set(key: K, value: V): void {
    if (this.#current.has(key)) {
      this.#current.set(key, value);
      return;
    }
    this.#previous.delete(key);
    this.#add(key, value);
  }

  delete(key: K): void {
    this.#current.delete(key);
    this.#previous.delete(key);
  }

  #add(key: K, value: V): void {
    if (this.#current.size >= this.#half) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, value);
  }
}
