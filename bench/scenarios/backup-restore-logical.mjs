/** `restoreBackup` of a logical backup into a new SQLite file: migrations, batched inserts, checksums, rename (MB/s of the database). */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createBackup, createFsBackupStore, createPlinth, restoreBackup } from '@plinth/core';
import { benchModule, measureLoop, plinthOptions, seedDatabase } from '../lib/backup-db.mjs';

export const summary = 'plinth backup restore of a logical backup into SQLite (MB/s)';
export const loop = true;

export async function measure(config) {
  const { dir, file, megabytes } = await seedDatabase();
  const plinth = createPlinth(plinthOptions(`sqlite:${file}`));
  await plinth.start();
  const store = createFsBackupStore(join(dir, 'backups'));
  const { name } = await createBackup(plinth, { store, format: 'logical' });
  await plinth.close();
  return measureLoop(config, megabytes, async (i) => {
    const target = join(dir, `restored-${i}.db`);
    await restoreBackup({ databaseUrl: `sqlite:${target}`, store, name, modules: [benchModule], builtins: false });
    rmSync(target);
  });
}
