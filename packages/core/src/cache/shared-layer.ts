import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * Terminology
 * - tag: what a cached value depends on, named after outbox aggregates: `product` (any
 *   product, for lists) and `product:<id>` (one product).
 * - generation: a counter per tag in Redis (`<prefix>g:<tag>`), increased after a commit
 *   whose outbox events touch the tag. A shared entry stores the generations of its tags
 *   as they were *before* its value was loaded; it is served only while they are unchanged.
 * - invalidation message: the tags of a commit, published on `<prefix>invalidate` so every
 *   process drops its in-process entries at once.
 */
export interface SharedLayer {
  /** The shared entry of `key` when its tags' generations are unchanged; else the generations to store a fresh value with. */
  read(key: string, tags: readonly string[]): Promise<{ hit: true; value: unknown } | { hit: false; generations: string[] }>;
  /** Stores a value loaded after `generations` were read (best effort). */
  write(key: string, generations: readonly string[], value: unknown): Promise<void>;
  /** Bumps the tags' generations, then tells every process; rejects when Redis does not answer. */
  invalidate(tags: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface SharedLayerOptions {
  /** Commands: fails fast while disconnected (no offline queue, a short timeout). */
  redis: Redis;
  /** A connection of its own for SUBSCRIBE. */
  subscriber: Redis;
  prefix: string;
  ttlMs: number;
  logger: Logger;
  /** Another process committed writes to these tags (or, with `undefined`, messages may have been missed). */
  onRemoteInvalidation(tags: readonly string[] | undefined): void;
}

export function createSharedLayer(options: SharedLayerOptions): SharedLayer {
  const { redis, subscriber, prefix, ttlMs } = options;
  const channel = `${prefix}invalidate`;
  const origin = `${process.pid}:${Math.random().toString(36).slice(2)}`;
  const gen = (tag: string) => `${prefix}g:${tag}`;
  const val = (key: string) => `${prefix}v:${key}`;

  subscriber.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    try {
      const parsed = JSON.parse(message) as { origin: string; tags: string[] };
      if (parsed.origin !== origin && Array.isArray(parsed.tags)) options.onRemoteInvalidation(parsed.tags);
    } catch {
      options.onRemoteInvalidation(undefined);
    }
  });
  // After a reconnect, messages sent while away are lost: drop everything once.
  let subscribedOnce = false;
  subscriber.on('ready', () => {
    if (subscribedOnce) options.onRemoteInvalidation(undefined);
    subscribedOnce = true;
  });
  subscriber.on('error', () => {});
  void subscriber.subscribe(channel).catch((error: Error) => options.logger.warn({ err: error.message }, 'cache invalidation channel: subscribe failed; in-process entries fall back to maxAgeMs'));

  return {
    async read(key, tags) {
      const raw = await redis.mget(val(key), ...tags.map(gen));
      const generations = raw.slice(1).map((g) => g ?? '0');
      const stored = raw[0];
      if (stored) {
        const entry = JSON.parse(stored) as { g: string[]; v: unknown };
        if (entry.g.length === generations.length && entry.g.every((g, i) => g === generations[i])) return { hit: true, value: entry.v };
      }
      return { hit: false, generations };
    },
    async write(key, generations, value) {
      await redis.set(val(key), JSON.stringify({ g: generations, v: value }), 'PX', ttlMs);
    },
    async invalidate(tags) {
      if (tags.length === 0) return;
      const pipeline = redis.multi();
      for (const tag of tags) pipeline.incr(gen(tag));
      pipeline.publish(channel, JSON.stringify({ origin, tags }));
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('Redis did not run the invalidation');
    },
    async close() {
      for (const client of [subscriber, redis]) {
        if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
        else client.disconnect();
      }
    },
  };
}
