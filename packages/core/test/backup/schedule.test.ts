/**
 * Scheduled backups (`backup.schedule`): a worker writes one backup per cron tick,
 * verifiable and listed, then applies the retention policy; a bad schedule fails
 * when the app is created, naming the key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFsBackupStore, createManualClock, createPlinth, listBackups, verifyBackup } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { jobsApp, startWorker, waitFor } from '../jobs/support.js';

describe.each(dialects)('scheduled backups on %s', (dialect) => {
  const h = useHarness();
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('writes one backup per tick from a worker and keeps the newest backup.keepLast', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-scheduled-backups-'));
    dirs.push(dir);
    const clock = createManualClock(Date.UTC(2026, 0, 1, 2, 59, 0));
    const plinth = await jobsApp(h, (await h.database(dialect)).url, { clock, backup: { dir, schedule: '0 3 * * *', keepLast: 2 } });
    const store = createFsBackupStore(dir);
    const worker = await startWorker(h, plinth);
    expect(await listBackups(store)).toEqual([]);

    for (let day = 1; day <= 3; day++) {
      clock.set(Date.UTC(2026, 0, day, 3, 0, 0));
      await waitFor(async () => (await plinth.jobs.list({ type: 'backup.scheduled', state: 'completed' })).data.length >= day, `the backup of day ${day}`, 30_000);
      await worker.drain();
    }
    const backups = await listBackups(store);
    expect(backups).toHaveLength(2); // the first one was pruned after the third
    expect(backups.every((b) => b.format === 'logical' && b.dialect === dialect)).toBe(true);
    const report = await verifyBackup({ store, name: backups[0]!.name });
    expect(report).toMatchObject({ ok: true, name: backups[0]!.name });
  });

  it('rejects a schedule that is not a cron expression, naming the key', () => {
    expect(() => createPlinth({ databaseUrl: 'sqlite::memory:', processEnv: false, backup: { schedule: 'every night' } })).toThrow(/backup\.schedule/);
    expect(() => createPlinth({ databaseUrl: 'sqlite::memory:', processEnv: false, backup: { schedule: '0 3 * * *', keepLast: 0 } })).toThrow(/backup\.keepLast/);
  });
});
