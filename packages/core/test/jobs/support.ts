/** Shared pieces of the job tests: a polling wait and a Plinth app with short job intervals. */
import type { CreatePlinthOptions, Plinth, Worker, WorkerOptions } from '../../src/index.js';
import { createWorker } from '../../src/index.js';
import type { Harness } from '../support/harness.js';

/** Polls `check` until it answers something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Fast job settings for tests: 20 ms polls, 1 s leases. */
export const fastJobs = { pollIntervalMs: 20, leaseSeconds: 1, shutdownTimeoutMs: 2000 } as const;

/** A started Plinth on `url` with fast job settings. */
export async function jobsApp(h: Harness, url: string, options: CreatePlinthOptions = {}): Promise<Plinth> {
  const plinth = h.plinth(url, { ...options, jobs: { ...fastJobs, ...options.jobs } });
  await plinth.start();
  return plinth;
}

/** A started worker, stopped after the test. */
export async function startWorker(h: Harness, plinth: Plinth, options: WorkerOptions = {}): Promise<Worker> {
  const worker = createWorker(plinth, options);
  h.defer(() => worker.stop({ timeoutMs: 500 }));
  await worker.start();
  return worker;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
