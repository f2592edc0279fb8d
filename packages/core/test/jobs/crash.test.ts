/**
 * A worker killed with SIGKILL in the middle of a job loses nothing: once its
 * lease runs out, another worker takes the job over and runs it again (attempt 2).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { ensureBuiltCore, exited, spawnNode, waitForLine } from '../support/node-child.js';
import { jobsApp, startWorker, waitFor } from './support.js';

const runs: { n: number; attempt: number }[] = [];
const workModule = defineModule({
  name: 'work',
  jobs: { 'work.item': { payload: z.object({ n: z.number().int() }), handler: ({ payload, attempt }) => void runs.push({ n: payload.n, attempt }) } },
});

/** The child: the same job type through the built package; job 1 hangs after saying STARTED, the others finish. */
const child = `
  import { z } from 'zod';
  const { createPlinth, createWorker, defineModule } = await import(process.env.PLINTH_CORE_URL);
  const work = defineModule({
    name: 'work',
    jobs: {
      'work.item': {
        payload: z.object({ n: z.number().int() }),
        handler: async ({ payload }) => {
          if (payload.n !== 1) return;
          console.log('STARTED');
          await new Promise(() => {}); // killed here
        },
      },
    },
  });
  const plinth = createPlinth({ databaseUrl: process.env.DB_URL, processEnv: false, logLevel: 'silent', builtins: false, modules: [work],
    jobs: { pollIntervalMs: 20, leaseSeconds: 1 } });
  await plinth.start({ migrate: false });
  await createWorker(plinth, { concurrency: 1 }).start();
`;

describe.each(dialects)('a worker killed mid-job on %s', (dialect) => {
  const h = useHarness();

  beforeAll(async () => {
    await ensureBuiltCore();
  }, 90_000);

  it('has its job taken over after the lease expires; the job completes, nothing is lost', async () => {
    runs.length = 0;
    const db = await h.database(dialect);
    const plinth = await jobsApp(h, db.url, { modules: [workModule] });
    const first = await plinth.jobs.enqueue('work.item', { n: 1 });

    const worker = spawnNode(child, { DB_URL: db.url });
    h.defer(() => worker.kill('SIGKILL'));
    const result = exited(worker);
    await waitForLine(worker, 'STARTED');
    expect(await plinth.jobs.get(first.id)).toMatchObject({ state: 'running', attempts: 1, lockedBy: expect.stringContaining(':') });
    // More work arrives while the job hangs; then the worker dies without any chance to clean up.
    const others = await plinth.transaction(async () => Promise.all([2, 3, 4].map((n) => plinth.jobs.enqueue('work.item', { n }))));
    worker.kill('SIGKILL');
    expect(await result).toMatchObject({ signal: 'SIGKILL' });

    const survivor = await startWorker(h, plinth);
    await waitFor(async () => (await plinth.jobs.get(first.id))?.state === 'completed', 'the taken-over job', 15_000);
    await survivor.drain();
    expect(await plinth.jobs.get(first.id)).toMatchObject({ state: 'completed', attempts: 2 });
    expect(runs.find((r) => r.n === 1)).toEqual({ n: 1, attempt: 2 });
    for (const job of others) expect((await plinth.jobs.get(job.id))?.state).toBe('completed');
    // Every job completed exactly once overall (the child may have finished some of 2-4 before dying).
    const states = (await plinth.jobs.list()).data.map((j) => j.state);
    expect(states).toEqual(['completed', 'completed', 'completed', 'completed']);
  }, 30_000);
});
