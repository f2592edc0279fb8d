import { Worker } from 'node:worker_threads';

/**
 * A worker thread running `script` (CommonJS), idle-unref'd: it does not keep the process alive
 * until the caller `ref()`s it for work that is due. No inherited flags: under
 * `node --input-type=module` the script would be read as ESM, without `require`.
 */
export function startScriptWorker(script: string, workerData: unknown): Worker {
  const worker = new Worker(script, { eval: true, execArgv: [], workerData });
  worker.unref();
  return worker;
}

/** Asks a script worker to `'close'` (after the messages before it) and waits until it has exited. */
export async function closeScriptWorker(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.ref(); // an unref'd worker would let the process end while this waits for it
  worker.postMessage('close');
  await exited;
}
