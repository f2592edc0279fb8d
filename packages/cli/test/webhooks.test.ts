/**
 * `plinth webhooks ...` through the CLI's program (in-process), on the database a worker uses: an
 * endpoint whose receiver fails shows its failed delivery; `plinth webhooks replay`
 * queues it again and, the receiver healthy now, it is delivered.
 */
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPlinth, createWorker, type Plinth, systemActor, type WebhooksService } from '@plinth/core';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonOf, plinthInProcess } from './cli.js';

describe('plinth webhooks on sqlite', () => {
  let db: TestDatabase | undefined;
  let app: Plinth | undefined;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
    await app?.close();
    await db?.drop();
    app = db = undefined;
  });

  it('lists endpoints and deliveries, replays one delivery and a range, and refuses bad requests with exit 1', async () => {
    let healthy = false;
    let hits = 0;
    const receiver = createServer((req, res) => {
      hits++;
      req.resume();
      res.writeHead(healthy ? 200 : 500).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => receiver.close(() => resolve())));
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;

    db = await createTestDatabase('sqlite');
    app = createPlinth({
      databaseUrl: db.url, processEnv: false, logLevel: 'silent', jobs: { pollIntervalMs: 20 },
      webhooks: { allowPrivate: true, retryScheduleMs: [10] }, outbound: { failureThreshold: 100 },
    });
    await app.start();
    const service = app.service<WebhooksService>('webhooks');
    const caller = { actor: systemActor('test') };
    const endpoint = await service.createEndpoint({ url, events: ['order.paid'] }, caller);
    const worker = createWorker(app);
    await worker.start();
    closers.push(() => worker.stop());
    await service.fanOut({ id: 'evt-1', type: 'order.paid', payload: { id: 'o-1' } });
    // `drain` stops when nothing is due: the retry, due 10 ms after the first failure, may not be yet.
    for (const deadline = Date.now() + 10_000; ; await sleep(10)) {
      await worker.drain();
      if (hits >= 2 || Date.now() > deadline) break;
    }
    expect(hits).toBe(2);

    const cli = (args: string[]) => plinthInProcess([...args, '--database-url', db!.url]);
    const listed = await cli(['webhooks', 'list', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(jsonOf(listed)).toMatchObject({ ok: true, endpoints: [{ id: endpoint.id, url, events: ['order.paid'], enabled: true, consecutiveFailures: 2 }] });
    expect(listed.stdout).not.toContain('whsec_');
    const human = await cli(['webhooks', 'list']);
    expect(human.stdout).toMatch(new RegExp(`^${endpoint.id}\\s+${url.replace(/[./]/g, '\\$&')}\\s+order\\.paid\\s+enabled\\s+2\\s`, 'm'));

    const failed = await cli(['webhooks', 'deliveries', endpoint.id, '--status', 'failed', '--json']);
    expect(failed.code, failed.stderr).toBe(0);
    const [delivery] = jsonOf(failed).deliveries;
    expect(delivery).toMatchObject({ eventId: 'evt-1', eventType: 'order.paid', status: 'failed', attempts: 2, lastStatusCode: 500, lastError: 'receiver answered 500' });
    const table = await cli(['webhooks', 'deliveries', endpoint.id]);
    expect(table.stdout).toMatch(new RegExp(`^${delivery.id}\\s+order\\.paid\\s+failed\\s+2\\s+500\\s`, 'm'));

    healthy = true;
    const replayed = await cli(['webhooks', 'replay', endpoint.id, '--delivery', delivery.id]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toBe(`Queued delivery ${delivery.id} (order.paid) to be sent again; a worker sends it within its poll interval.\n`);
    await worker.drain();
    expect((await service.getDelivery(endpoint.id, delivery.id, caller)).status).toBe('succeeded');

    const range = await cli(['webhooks', 'replay', endpoint.id, '--since', '2020-01-01', '--all', '--json']);
    expect(jsonOf(range)).toEqual({ ok: true, replayed: 1 });
    await worker.drain();
    expect(hits).toBe(4);

    const neither = await cli(['webhooks', 'replay', endpoint.id]);
    expect({ code: neither.code, stderr: neither.stderr }).toEqual({ code: 1, stderr: 'error: Give either --delivery <id> or --since <time>\n' });
    const missing = await cli(['webhooks', 'deliveries', 'no-such-endpoint', '--json']);
    expect(missing.code).toBe(1);
    expect(jsonOf(missing).error.code).toBe('webhooks.not_found');
    const badTime = await cli(['webhooks', 'replay', endpoint.id, '--since', 'yesterday']);
    expect(badTime.code).toBe(1);
    expect(badTime.stderr).toMatch(/must be a date or an RFC 3339 time/);
  }, 60_000);
});
