/**
 * `plinth jobs ...` through the CLI's program (in-process), on the database a worker uses:
 * a job that always fails ends dead; `plinth jobs retry <id>` queues it again and it runs.
 */
import { createPlinth, createWorker, defineModule, type Plinth } from '@plinth/core';
import { createTestDatabase, dialects, type TestDatabase } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonOf, plinthInProcess } from './cli.js';

describe.each(dialects)('plinth jobs on %s', (dialect) => {
  let db: TestDatabase | undefined;
  let app: Plinth | undefined;
  afterEach(async () => {
    await app?.close();
    await db?.drop();
    app = db = undefined;
  });

  it('lists the dead job, shows it, retries it (then it runs), and refuses bad requests with exit 1', async () => {
    db = await createTestDatabase(dialect);
    let healthy = false;
    const hooks = defineModule({
      name: 'hooks',
      jobs: {
        'hooks.deliver': {
          maxAttempts: 2,
          backoff: () => 0,
          handler: () => {
            if (!healthy) throw new Error('receiver answered 503');
          },
        },
      },
    });
    app = createPlinth({ databaseUrl: db.url, processEnv: false, logLevel: 'silent', modules: [hooks], jobs: { pollIntervalMs: 20 } });
    await app.start();
    const worker = createWorker(app);
    await worker.start();
    const { id } = await app.jobs.enqueue('hooks.deliver', { endpoint: 'e1' });
    await worker.drain();
    expect((await app.jobs.get(id))?.state).toBe('dead');

    const cli = (args: string[]) => plinthInProcess([...args, '--database-url', db!.url]);
    const dead = await cli(['jobs', 'dead', '--json']);
    expect(dead.code, dead.stderr).toBe(0);
    expect(jsonOf(dead)).toMatchObject({ ok: true, jobs: [{ id, type: 'hooks.deliver', state: 'dead', attempts: 2, lastError: 'receiver answered 503' }], nextCursor: null });
    const human = await cli(['jobs', 'list']);
    expect(human.stdout).toMatch(new RegExp(`^${id}\\s+hooks\\.deliver\\s+default\\s+dead\\s+2/2\\s+.*receiver answered 503$`, 'm'));
    const shown = await cli(['jobs', 'show', id]);
    expect(shown.stdout).toMatch(/^payload\s+\{"endpoint":"e1"\}$/m);

    healthy = true;
    const retried = await cli(['jobs', 'retry', id]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toBe(`Queued hooks.deliver job ${id} to run now; a worker takes it within its poll interval.\n`);
    await worker.drain();
    expect(await app.jobs.get(id)).toMatchObject({ state: 'completed', attempts: 1 });

    const again = await cli(['jobs', 'retry', id, '--json']);
    expect(again.code).toBe(1);
    expect(jsonOf(again).error.code).toBe('jobs.invalid_state');
    const missing = await cli(['jobs', 'cancel', 'no-such-job']);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 1, stderr: 'error: No such job\n' });
    const badState = await cli(['jobs', 'list', '--state', 'exploded']);
    expect(badState.code).toBe(1);
    expect(badState.stderr).toMatch(/argument 'exploded' is invalid/);
    await worker.stop();
  }, 40_000);
});
