/** `createBackup(plinth)` in the portable format: snapshot, then gzip JSONL per table with SHA-256 (MB/s of the database). */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createBackup, createFsBackupStore, createPlinth } from '@plinth/core';
import { measureLoop, plinthOptions, seedDatabase } from '../lib/backup-db.mjs';

export const summary = 'plinth backup create --format logical on SQLite (MB/s)';
export const loop = true;

export async function measure(config) {
  const { dir, file, megabytes } = await seedDatabase();
  const plinth = createPlinth(plinthOptions(`sqlite:${file}`));
  await plinth.start();
  const store = createFsBackupStore(join(dir, 'backups'));
  try {
    return await measureLoop(config, megabytes, async (i) => {
      await createBackup(plinth, { store, format: 'logical', name: `b${i}` });
      rmSync(join(dir, 'backups', `b${i}`), { recursive: true });
    });
  } finally {
    await plinth.close();
  }
}
