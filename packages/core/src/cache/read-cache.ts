import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { SharedLayer } from './shared-layer.js';

/**
 * A cache for hot reads (`kernel.cache`), in two layers.
 *
 * In process: kept correct by the storage's change version rather than by
 * invalidation calls scattered through the code: an entry is served only while
 * no write has run through this Plinth instance since it was loaded, no other
 * process has announced a commit (Redis pub/sub, when configured) and, on
 * SQLite, no other process has committed. That is all SQLite needs (its change
 * version sees every commit); on PostgreSQL nothing announces another process's
 * commit, so no entry is served when it may miss a commit older than `maxAgeMs`:
 * an entry older than that is served only if the server's commit watermark
 * (`storage.commitWatermark`, read before the entry was loaded) is unchanged
 * at a reading less than `maxAgeMs` old. One reading serves every entry, is
 * taken on demand (when an entry reaches its age), at most every `maxAgeMs / 2`;
 * an idle process reads nothing. Coarse on purpose: any write drops every entry.
 *
 * Shared (when Redis is configured): reads that name their `tags` are also kept
 * in Redis for every process, valid while the tags' generations are unchanged;
 * a commit whose outbox events touch a tag (`product`, `product:<id>`: the
 * event's aggregate) bumps its generation before `transaction()` returns, then
 * tells the other processes. `ttlSeconds` bounds an entry whose invalidation
 * could not reach Redis.
 *
 * Concurrent misses of one key share one load (while nothing was written or announced since
 * it began): a cold key under load is read from Redis and the database once, not once per
 * request. That matters most with Redis, whose miss costs two round trips (read, then store)
 * during which every further request for the key would otherwise start its own load.
 */
export interface ReadCache {
  /**
   * The value cached under `key`, or what `load()` returns (then cached).
   * Inside a transaction the cache is bypassed: a transaction reads its own,
   * uncommitted writes, which other callers must not see. Values are frozen:
   * treat them as read-only. With `tags`, the value is shared through Redis (it must be JSON).
   */
  get<T>(key: string, load: () => Promise<T>, options?: ReadOptions): Promise<T>;
  /**
   * The value `get(key, ...)` would answer from this process's memory without waiting for
   * anything (no load, no watermark reading), or `undefined` (then call `get`): the hit path of
   * `get`, synchronous, for a hot handler that answers a hit without a microtask turn.
   */
  peek<T>(key: string): T | undefined;
  /** Marks `tags` changed by a commit: shared entries on them are stale everywhere. Called by `transaction()`. */
  invalidate(tags: readonly string[]): Promise<void>;
  /** Forgets every in-process entry. */
  clear(): void;
  /**
   * Calls `listener` when another process announces a commit, with its tags (`undefined`: messages
   * may have been missed, drop everything). For modules that keep caches of their own.
   */
  onRemoteInvalidation(listener: (tags: readonly string[] | undefined) => void): void;
  /** Lookups by layer, for the hit-ratio metric. */
  readonly stats: CacheStats;
}

export interface ReadOptions {
  /** What the value depends on (outbox aggregates: `product`, `product:<id>`); shares it through Redis. */
  tags?: readonly string[];
  /** How to check entries past their age in bulk instead of loading them again (PostgreSQL); see `Revalidation`. */
  revalidation?: Revalidation;
}

/**
 * A cheap check of a kind of entry (one object per kind, shared by its reads), for storage that
 * cannot see other processes' commits (PostgreSQL). Without one, an entry past `maxAgeMs` is
 * served again only when the server-wide commit watermark has not moved, which a busy server
 * (any database of it) moves all the time: every entry is loaded again each `maxAgeMs`. With
 * one, the entries of the kind that are hit and past half their age are checked together, in
 * the background, by one call of `current`: an entry whose stamp is unchanged counts as loaded
 * when that call began, so a commit elsewhere is still seen within `maxAgeMs`.
 */
export interface Revalidation {
  /** A string that changes whenever what `value` was made from changes (e.g. a version and stock levels); `undefined`: cannot be checked. */
  stampOf(value: unknown): string | undefined;
  /** The stamps the given keys' values would have if loaded now, read from the database; a key left out counts as changed. */
  current(keys: readonly string[]): Promise<ReadonlyMap<string, string>>;
}

export interface CacheStats {
  /** Answered by this process, including the callers that joined a load already in flight for their key. */
  memoryHits: number;
  sharedHits: number;
  misses: number;
}

interface Entry {
  value: unknown;
  version: number;
  epoch: number;
  /** Until when (minus `maxAgeMs`) the value is known to miss no commit: its load, then each confirming watermark reading. */
  checkedAt: number;
  /** The commit watermark read before the load began (PostgreSQL), if one was known. */
  mark: string | undefined;
  /** Its kind's bulk check and its stamp, when it has them (PostgreSQL). */
  revalidation?: Revalidation | undefined;
  stamp?: string | undefined;
}

/** A load in flight, joined by concurrent misses of its key that see the same version and epoch. */
interface Loading {
  value: Promise<unknown>;
  version: number;
  epoch: number;
  startedAt: number;
}

/** A commit watermark reading, and when it was asked for (everything committed before then is included). */
interface Mark {
  mark: string;
  sentAt: number;
}

export interface ReadCacheOptions {
  storage: Pick<Storage, 'changeVersion' | 'seesOtherProcesses' | 'commitWatermark'>;
  clock: Clock;
  maxEntries: number;
  maxAgeMs: number;
  /** Whether the caller runs inside a transaction (then the cache is bypassed). */
  inTransaction: () => boolean;
  /** The Redis layer, when configured. */
  shared?: SharedLayer;
  /** How long an invalidation failure keeps this process off the shared layer, in ms. */
  sharedTtlMs?: number;
  logger?: Logger;
}

/** The in-process half's hook for the shared layer: another process committed. */
export interface RemoteInvalidation {
  remoteInvalidated(tags: readonly string[] | undefined): void;
}

export function createReadCache(options: ReadCacheOptions): ReadCache & RemoteInvalidation {
  const { storage, clock, maxEntries, maxAgeMs, inTransaction, shared, logger } = options;
  const stats: CacheStats = { memoryHits: 0, sharedHits: 0, misses: 0 };
  const memoryOn = maxEntries > 0 && maxAgeMs > 0;
  const entries = memoryOn ? new LRUCache<string, Entry>({ max: maxEntries }) : undefined;
  const loading = new Map<string, Loading>();
  // SQLite's change version covers other processes' commits too: age adds nothing there.
  const ageLimited = !storage.seesOtherProcesses;
  let epoch = 0;
  /** Until then this process reads around Redis: an invalidation of its own did not reach it. */
  let bypassSharedUntil = 0;
  let lastSharedError = Number.NEGATIVE_INFINITY;
  const listeners: ((tags: readonly string[] | undefined) => void)[] = [];
  // PostgreSQL: the latest commit watermark reading, and the one in flight (shared by every caller).
  const readWatermark = ageLimited && storage.commitWatermark ? storage.commitWatermark.bind(storage) : undefined;
  let lastMark: Mark | undefined;
  let markInFlight: Promise<Mark | undefined> | undefined;
  let lastMarkError = Number.NEGATIVE_INFINITY;

  /** A reading at most `maxAgeMs / 2` old: the last one, or a new one (one at a time). `undefined` when it cannot be read. */
  function watermark(): Promise<Mark | undefined> {
    if (lastMark && clock.now() - lastMark.sentAt < maxAgeMs / 2) return Promise.resolve(lastMark);
    if (markInFlight) return markInFlight;
    const sentAt = clock.now();
    markInFlight = readWatermark!().then(
      (mark) => {
        markInFlight = undefined;
        if (!lastMark || sentAt >= lastMark.sentAt) lastMark = { mark, sentAt };
        return lastMark;
      },
      (error: unknown) => {
        markInFlight = undefined;
        // A standby, or a connection problem: entries simply expire at maxAgeMs.
        if (sentAt - lastMarkError > 30_000) logger?.debug({ err: error instanceof Error ? error.message : String(error) }, 'cache: reading the commit watermark failed');
        lastMarkError = sentAt;
        return undefined;
      },
    );
    return markInFlight;
  }

  /** Whether a PostgreSQL entry past its age is still good: nothing committed since its watermark, at a reading less than maxAgeMs old. */
  async function confirmed(hit: Entry): Promise<boolean> {
    if (!readWatermark || hit.mark === undefined) return false;
    const reading = await watermark();
    if (!reading || reading.mark !== hit.mark || clock.now() - reading.sentAt >= maxAgeMs) return false;
    if (reading.sentAt > hit.checkedAt) hit.checkedAt = reading.sentAt;
    return true;
  }

  /** Checks in bulk when in flight (one call per kind at a time), and when each kind's last one began. */
  const revalidating = new Map<Revalidation, Promise<void>>();
  const lastRevalidation = new Map<Revalidation, number>();
  let lastRevalidationError = Number.NEGATIVE_INFINITY;

  /**
   * Checks every live entry of `kind` past half its age with one `current` call; the unchanged
   * ones count as loaded when the call began. Entries that changed are left to expire (and load).
   * Joins the call in flight; starts at most one every `maxAgeMs / 4` unless `now` (an expired entry waits).
   */
  function revalidate(kind: Revalidation, now: boolean): Promise<void> {
    const running = revalidating.get(kind);
    if (running) return running;
    const sentAt = clock.now();
    if (!now && sentAt - (lastRevalidation.get(kind) ?? Number.NEGATIVE_INFINITY) < maxAgeMs / 4) return Promise.resolve();
    lastRevalidation.set(kind, sentAt);
    const version = storage.changeVersion();
    const due: Entry[] = [];
    const keys: string[] = [];
    for (const [key, entry] of entries!.entries()) {
      if (entry.revalidation !== kind || entry.stamp === undefined || entry.version !== version || entry.epoch !== epoch) continue;
      if (sentAt - entry.checkedAt < maxAgeMs / 2) continue;
      due.push(entry);
      keys.push(key);
    }
    if (keys.length === 0) return Promise.resolve();
    const done = kind
      .current(keys)
      .then(
        (stamps) => {
          for (let i = 0; i < due.length; i++) {
            const entry = due[i]!;
            if (stamps.get(keys[i]!) === entry.stamp && sentAt > entry.checkedAt) entry.checkedAt = sentAt;
          }
        },
        (error: unknown) => {
          if (sentAt - lastRevalidationError > 30_000) logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'cache: checking entries failed; they expire');
          lastRevalidationError = sentAt;
        },
      )
      .finally(() => revalidating.delete(kind));
    revalidating.set(kind, done);
    return done;
  }

  /** An age-limited entry that is hit past half its age gets its kind checked in the background (before it expires). */
  function revalidateSoon(hit: Entry, now: number): void {
    if (hit.revalidation && hit.stamp !== undefined && now - hit.checkedAt >= maxAgeMs / 2) void revalidate(hit.revalidation, false);
  }

  const sharedFailed = (error: unknown, what: string) => {
    const now = clock.now();
    if (now - lastSharedError > 30_000) logger?.warn({ err: error instanceof Error ? error.message : String(error) }, `shared cache: ${what} failed; reading the database`);
    lastSharedError = now;
  };

  async function loadShared<T>(key: string, tags: readonly string[], load: () => Promise<T>): Promise<T> {
    if (!shared || clock.now() < bypassSharedUntil) {
      stats.misses++;
      return load();
    }
    let generations: string[] | undefined;
    try {
      const found = await shared.read(key, tags);
      if (found.hit) {
        stats.sharedHits++;
        return found.value as T;
      }
      generations = found.generations;
    } catch (error) {
      sharedFailed(error, 'read');
    }
    stats.misses++;
    const value = await load();
    if (generations) await shared.write(key, generations, value).catch((error: unknown) => sharedFailed(error, 'write'));
    return value;
  }

  return {
    stats,
    async get<T>(key: string, load: () => Promise<T>, readOptions?: ReadOptions): Promise<T> {
      if (inTransaction()) return load();
      const tags = readOptions?.tags;
      if (!entries) return tags?.length ? loadShared(key, tags, load) : (stats.misses++, load());
      // Read the version before loading: a write that lands during the load leaves the entry already stale.
      const version = storage.changeVersion();
      const seenEpoch = epoch;
      const hit = entries.get(key);
      if (hit && hit.version === version && hit.epoch === seenEpoch) {
        if (!ageLimited) {
          stats.memoryHits++;
          return hit.value as T;
        }
        const at = clock.now();
        if (at - hit.checkedAt < maxAgeMs) {
          revalidateSoon(hit, at);
          stats.memoryHits++;
          return hit.value as T;
        }
        // Expired: checked in bulk when its kind can be, else by the commit watermark.
        if (hit.revalidation && hit.stamp !== undefined) {
          // The check in flight may have begun before this entry was due: then one more (it is due now).
          const running = revalidating.get(hit.revalidation);
          if (running) await running;
          if (clock.now() - hit.checkedAt >= maxAgeMs) await revalidate(hit.revalidation, true);
        }
        // The version and epoch are checked again after the wait: a write meanwhile still wins.
        if ((clock.now() - hit.checkedAt < maxAgeMs || (await confirmed(hit))) && storage.changeVersion() === hit.version && epoch === hit.epoch) {
          stats.memoryHits++;
          return hit.value as T;
        }
      }
      const now = clock.now();
      // A load of this key that began with nothing written or announced since gives what a hit on its
      // entry would: join it. Not one running for maxAgeMs or longer (stuck, or too old on PostgreSQL).
      const running = loading.get(key);
      if (running && running.version === storage.changeVersion() && running.epoch === epoch && now - running.startedAt < maxAgeMs) {
        stats.memoryHits++;
        return running.value as Promise<T>;
      }
      // The watermark known before the load began (a reading finished before it): a later equal reading proves nothing was missed.
      let mark: string | undefined;
      if (readWatermark) {
        mark = lastMark?.mark;
        if (!lastMark || now - lastMark.sentAt >= maxAgeMs / 2) void watermark(); // for the next loads; this one does not wait
      }
      const loaded = (async () => {
        const value = deepFreeze(tags?.length ? await loadShared(key, tags, load) : (stats.misses++, await load()));
        const revalidation = ageLimited ? readOptions?.revalidation : undefined;
        entries.set(key, { value, version, epoch: seenEpoch, checkedAt: now, mark, revalidation, stamp: revalidation?.stampOf(value) });
        return value;
      })();
      const flight: Loading = { value: loaded, version, epoch: seenEpoch, startedAt: now };
      loading.set(key, flight);
      // A failed load is shared by its joiners, then forgotten: the next miss loads again.
      const forget = () => {
        if (loading.get(key) === flight) loading.delete(key);
      };
      loaded.then(forget, forget);
      return loaded;
    },
    peek<T>(key: string): T | undefined {
      if (!entries) return undefined;
      const hit = entries.get(key);
      if (hit === undefined || hit.version !== storage.changeVersion() || hit.epoch !== epoch) return undefined;
      if (inTransaction()) return undefined; // a transaction reads around the cache
      if (ageLimited) {
        const now = clock.now();
        if (now - hit.checkedAt >= maxAgeMs) return undefined; // `get` may confirm it
        revalidateSoon(hit, now);
      }
      stats.memoryHits++;
      return hit.value as T;
    },
    async invalidate(tags) {
      if (!shared || tags.length === 0) return;
      try {
        await shared.invalidate(tags);
      } catch (error) {
        // Other processes may serve their shared entries until `ttlSeconds`; this one reads around them.
        bypassSharedUntil = clock.now() + (options.sharedTtlMs ?? 60_000);
        sharedFailed(error, 'invalidation');
      }
    },
    clear() {
      entries?.clear();
      loading.clear();
    },
    onRemoteInvalidation(listener) {
      listeners.push(listener);
    },
    remoteInvalidated(tags) {
      epoch++;
      for (const listener of listeners) listener(tags);
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  for (const inner of Object.values(value)) deepFreeze(inner);
  return Object.freeze(value);
}
