import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { closeScriptWorker, startScriptWorker } from './script-worker.js';

/**
 * Checkpoints of the WAL in a worker thread, with a connection of its own, so
 * that a commit never copies pages into the database file and syncs it on the
 * event loop. SQLite's automatic checkpoint runs in the committing connection:
 * every ~1000 WAL pages (a few dozen orders) one commit blocked the process for
 * two fsyncs and the copy. Here the server's connection checkpoints only as a
 * safety valve (`SAFETY_PAGES`, when the worker falls behind or is gone), and
 * the worker runs a PASSIVE checkpoint (it blocks neither writers nor readers)
 * at most every `INTERVAL_MS` while commits come in. Same durability: a
 * checkpoint syncs the WAL before it copies and the database file after.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true, timeout: workerData.busyTimeoutMs });
const checkpoint = db.prepare('pragma wal_checkpoint(PASSIVE)');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const row = checkpoint.get();
    parentPort.postMessage({ ok: true, log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String((error && error.message) || error) });
  }
});
`;

/** WAL pages after which the server's own connection checkpoints (SQLite's default is 1000). */
export const SAFETY_PAGES = 10_000;
const INTERVAL_MS = 100;

export interface CheckpointStats {
  /** Checkpoints the worker ran. */
  checkpoints: number;
  /** Checkpoints that failed (then the next commit asks again). */
  failures: number;
}

export class WalCheckpointer {
  readonly #filename: string;
  readonly #busyTimeoutMs: number;
  readonly #onGone: (error: unknown) => void;
  #worker: Worker | undefined;
  #running = false;
  #wanted = false;
  #last = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #waiters: (() => void)[] = [];
  readonly stats: CheckpointStats = { checkpoints: 0, failures: 0 };

  /** `onGone`: the worker could not start or stopped; the caller lets SQLite checkpoint by itself again. */
  constructor(filename: string, busyTimeoutMs: number, onGone: (error: unknown) => void) {
    this.#filename = filename;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#onGone = onGone;
  }

  /** After a commit that wrote: a checkpoint soon (one at a time, at most one per interval). */
  written(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#wanted = true;
      return;
    }
    if (this.#timer) return;
    const wait = this.#last + INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#run();
      }, wait);
      this.#timer.unref();
      return;
    }
    this.#run();
  }

  /** Resolves once a checkpoint started after this call has finished (for tests and shutdown). */
  settled(): Promise<void> {
    if (!this.#running && !this.#timer) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #run(): void {
    if (this.#closed) return;
    const worker = this.#start();
    if (!worker) return;
    this.#running = true;
    worker.postMessage('checkpoint');
  }

  #start(): Worker | undefined {
    if (this.#worker) return this.#worker;
    let worker: Worker;
    try {
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      worker = startScriptWorker(WORKER, { driver, filename: this.#filename, busyTimeoutMs: this.#busyTimeoutMs });
    } catch (error) {
      this.#gone(error);
      return undefined;
    }
    worker.on('message', (message: { ok: boolean }) => {
      this.#running = false;
      this.#last = Date.now();
      if (message.ok) this.stats.checkpoints++;
      else this.stats.failures++;
      const waiters = this.#waiters;
      this.#waiters = [];
      if (this.#wanted) {
        this.#wanted = false;
        this.written();
      }
      if (this.#timer || this.#running) this.#waiters.push(...waiters);
      else for (const resolve of waiters) resolve();
    });
    worker.on('error', (error) => this.#gone(error));
    worker.on('exit', (code) => {
      if (!this.#closed) this.#gone(new Error(`the checkpoint worker stopped (exit code ${code})`));
    });
    this.#worker = worker;
    return worker;
  }

  #gone(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker = undefined;
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    for (const resolve of this.#waiters.splice(0)) resolve();
    this.#onGone(error);
  }

  /** Stops the worker (and closes its connection) before the server's connection closes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const worker = this.#worker;
    this.#worker = undefined;
    for (const resolve of this.#waiters.splice(0)) resolve();
    // After a checkpoint in progress: messages are handled in order.
    if (worker) await closeScriptWorker(worker);
  }
}
