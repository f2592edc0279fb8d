import type { Worker } from 'node:worker_threads';
import { closeScriptWorker, startScriptWorker } from './script-worker.js';

export interface WalSyncStats {
  /** Callers that waited for their writes to reach the disk. */
  flushes: number;
  /** `fdatasync` calls that covered them. */
  syncs: number;
}

/**
 * The thread that syncs the WAL. It keeps the WAL open and, before each sync,
 * checks that the file at the path is still the one it holds: SQLite deletes
 * the WAL only after checkpointing all of it into the (then synced) database,
 * e.g. when the journal mode changes, and then there is nothing left to sync.
 * A WAL created again later is another file, so a handle to the old one is
 * never synced in its place.
 */
const WORKER = `
const { closeSync, fdatasyncSync, fstatSync, openSync, statSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
let fd;
const drop = () => {
  if (fd !== undefined) closeSync(fd);
  fd = undefined;
};
function sync() {
  let current;
  try {
    current = statSync(workerData.path);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
    drop();
    return false;
  }
  if (fd !== undefined && fstatSync(fd).ino !== current.ino) drop();
  if (fd === undefined) {
    try {
      fd = openSync(workerData.path, 'r+');
    } catch (error) {
      if (error.code === 'ENOENT') return false;
      throw error;
    }
  }
  fdatasyncSync(fd);
  return true;
}
parentPort.on('message', (message) => {
  if (message === 'close') {
    drop();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ ok: true, synced: sync() });
  } catch (error) {
    parentPort.postMessage({ ok: false, code: error && error.code, message: String((error && error.message) || error) });
  }
});
`;

type Reply = { ok: true; synced: boolean } | { ok: false; code?: string; message: string };

/**
 * Group commit for SQLite in WAL mode. SQLite runs with `synchronous=NORMAL`
 * (a commit writes its WAL frames but does not sync them); a writer calls
 * `flush()` after releasing the connection and is answered once an
 * `fdatasync` of the WAL that *started after its commit* has finished. Every
 * commit made while a sync runs shares the next one, so N concurrent commits
 * cost about two syncs instead of N. An acknowledged commit is as durable as
 * with `synchronous=FULL` (the WAL holding it is on disk; SQLite syncs the WAL
 * again before each checkpoint and the database file after it).
 *
 * The sync runs on a thread of its own, not on libuv's pool: that pool is one
 * FIFO queue shared with password hashes, DNS and file I/O, and measured with
 * 50 sign-ins in flight on 2 cores, a commit waited 144 ms (p50) there for its
 * sync behind the queued hashes, against 0.9 ms without them. The thread starts
 * on the first sync and does not keep the process alive while idle.
 */
export class WalSync {
  readonly #path: string;
  #worker: Worker | undefined;
  /** The sync the thread is running: settled by its reply. */
  #answer: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #current: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #closed = false;
  readonly stats: WalSyncStats = { flushes: 0, syncs: 0 };

  /** `path`: the database file; its WAL is `<path>-wal`, which SQLite keeps while a connection is open. */
  constructor(path: string) {
    this.#path = `${path}-wal`;
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  flush(): Promise<void> {
    this.stats.flushes++;
    // A sync already running may have started before our write: wait for the one after it.
    if (!this.#current) return (this.#current = this.#start());
    return (this.#queued ??= this.#current.then(
      () => this.#next(),
      () => this.#next(),
    ));
  }

  #next(): Promise<void> {
    this.#queued = undefined;
    return (this.#current = this.#start());
  }

  #start(): Promise<void> {
    const sync = new Promise<void>((resolve, reject) => {
      if (this.#closed) throw new Error('The WAL sync thread is closed');
      const worker = (this.#worker ??= this.#spawn());
      this.#answer = { resolve, reject };
      worker.ref(); // a sync is due: the process waits for it
      worker.postMessage('sync');
    });
    const settled = sync.finally(() => {
      if (this.#current === settled) this.#current = undefined;
    });
    return settled;
  }

  #spawn(): Worker {
    const worker = startScriptWorker(WORKER, { path: this.#path });
    worker.on('message', (reply: Reply) => {
      const answer = this.#answer;
      this.#answer = undefined;
      worker.unref();
      if (reply.ok) {
        if (reply.synced) this.stats.syncs++;
        answer?.resolve();
      } else {
        answer?.reject(Object.assign(new Error(`WAL sync failed: ${reply.message}`), { code: reply.code }));
      }
    });
    const gone = (error: Error) => {
      // The next sync starts a new thread; the one waiting fails (its commit is not known to be on disk).
      if (this.#worker === worker) this.#worker = undefined;
      const answer = this.#answer;
      this.#answer = undefined;
      answer?.reject(error);
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`the WAL sync thread stopped (exit code ${code})`)));
    return worker;
  }

  async close(): Promise<void> {
    await this.#queued?.catch(() => {});
    await this.#current?.catch(() => {});
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await closeScriptWorker(worker);
  }
}
