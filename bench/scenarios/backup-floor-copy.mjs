/** Floor of the backup scenarios: a plain file copy (fs.copyFile) of the same idle SQLite file, in MB/s. */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { measureLoop, seedDatabase } from '../lib/backup-db.mjs';

export const summary = 'fs.copyFile of the seeded SQLite file (MB/s)';
export const loop = true;

export async function measure(config) {
  const { dir, file, megabytes } = await seedDatabase();
  return measureLoop(config, megabytes, async (i) => {
    const target = join(dir, `copy-${i}.db`);
    copyFileSync(file, target);
    rmSync(target);
  });
}
