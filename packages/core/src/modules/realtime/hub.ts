import type { KernelContext } from '../../module.js';
import { type LogEntry, logHead, readLog } from './log.js';
import { REALTIME_CHANNEL } from './migrations.js';

/** Entries kept in memory for streams that are up to date (a stream further behind reads the database). */
const RING_SIZE = 2048;
const FETCH_BATCH = 500;

/**
 * One per process: follows the realtime log for every stream of this process. It reads new
 * entries once per wake-up (PostgreSQL NOTIFY from any process, a local append, or a poll for
 * writers it cannot hear, such as a CLI on the same SQLite file) into a ring that up-to-date
 * streams read from, and wakes the streams. Streams pull: nothing is queued per client.
 */
export interface RealtimeHub {
  /** Starts following the log (once); answers the last committed `seq`. */
  start(): Promise<number>;
  /** Entries after `seq` from memory, or `undefined` when the ring no longer covers it (read the database). */
  after(seq: number, limit: number): LogEntry[] | undefined;
  /** The last `seq` read. */
  readonly head: number;
  /** Resolves on the next wake-up that read something new, or when `signal` aborts. */
  changed(signal: AbortSignal, timeoutMs: number): Promise<void>;
  /** Something was appended here: read now. */
  poke(): void;
  close(): Promise<void>;
}

export function createRealtimeHub(kernel: KernelContext): RealtimeHub {
  const log = kernel.logger.child({ component: 'realtime' });
  const ring: LogEntry[] = [];
  let head = 0;
  let starting: Promise<number> | undefined;
  /** The head is loaded: reading "after head" is safe. */
  let ready = false;
  let closed = false;
  let stopListening: (() => Promise<void>) | undefined;
  let poller: NodeJS.Timeout | undefined;
  let fetching: Promise<void> | undefined;
  let again = false;
  const waiters = new Set<() => void>();

  const wakeAll = () => {
    for (const wake of [...waiters]) wake();
  };

  async function fetchNew(): Promise<void> {
    for (;;) {
      const rows = await readLog(kernel, head, FETCH_BATCH);
      if (rows.length === 0) return;
      for (const row of rows) ring.push(row);
      if (ring.length > RING_SIZE) ring.splice(0, ring.length - RING_SIZE);
      head = rows[rows.length - 1]!.seq;
      wakeAll();
      if (rows.length < FETCH_BATCH) return;
    }
  }

  function poke(): void {
    if (closed || !ready) return;
    if (fetching) {
      again = true;
      return;
    }
    fetching = (async () => {
      do {
        again = false;
        try {
          await fetchNew();
        } catch (error) {
          if (!closed) log.warn({ err: error }, 'reading the realtime log failed; retrying on the next poll');
        }
      } while (again && !closed);
    })().finally(() => {
      fetching = undefined;
    });
  }

  return {
    get head() {
      return head;
    },
    start() {
      starting ??= (async () => {
        head = (await logHead(kernel)).seq;
        ready = true;
        poller = setInterval(poke, kernel.config.realtime.pollIntervalMs);
        poller.unref();
        try {
          stopListening = await kernel.storage.listen(REALTIME_CHANNEL, poke);
        } catch (error) {
          log.warn({ err: error }, 'cannot LISTEN for realtime events; polling only');
        }
        if (closed) await stopListening?.();
        return head;
      })().catch((error: unknown) => {
        starting = undefined;
        throw error;
      });
      return starting;
    },
    after(seq, limit) {
      if (seq >= head) return [];
      const first = ring[0];
      if (!first || first.seq > seq + 1) return undefined;
      // Appends never skip a seq (a rolled-back append rolls the head back), so the ring has no gaps.
      const start = seq + 1 - first.seq;
      if (ring[start]?.seq !== seq + 1) return undefined;
      return ring.slice(start, start + limit);
    },
    changed(signal, timeoutMs) {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    },
    poke,
    async close() {
      closed = true;
      clearInterval(poller);
      wakeAll();
      await stopListening?.();
      await fetching;
    },
  };
}
