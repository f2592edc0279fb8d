import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { PlinthError } from '../errors.js';

/**
 * Runs in a worker thread with its own connection, so the event loop (and the
 * server's connection) keeps going while SQLite copies. `VACUUM INTO` reads
 * one snapshot from a single read transaction: writers carry on (WAL), the
 * copy holds exactly what was committed when it started, and it never
 * restarts (unlike the online backup API when another connection writes).
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.source, { readonly: true, fileMustExist: true, timeout: workerData.busyTimeoutMs });
  db.prepare('vacuum into ?').run(workerData.target);
  parentPort.postMessage({ ok: true });
} catch (error) {
  parentPort.postMessage({ ok: false, message: String(error && error.message || error), code: error && error.code });
} finally {
  if (db) db.close();
}
`;

const driverPath = () => createRequire(import.meta.url).resolve('better-sqlite3');

/** Writes a consistent copy of the SQLite database `source` to `target` (which must not exist). */
export function snapshotSqlite(source: string, target: string, busyTimeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { driver: driverPath(), source, target, busyTimeoutMs } });
    let settled = false;
    worker.once('message', (message: { ok: boolean; message?: string; code?: string }) => {
      settled = true;
      if (message.ok) resolve();
      else {
        const reason = message.code === 'SQLITE_FULL' ? 'the disk is full' : message.message;
        reject(new PlinthError('backup.write_failed', `Could not snapshot the SQLite database: ${reason}`));
      }
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the snapshot worker stopped (exit code ${code})`));
    });
  });
}
