import { defineModule, type AnyModule } from '../module.js';
import type { PlinthConfig } from '../config.js';
import { pruneBackups } from './catalog.js';
import { backupDir, createBackup } from './create.js';
import { createFsBackupStore } from './store.js';

/** The job type of scheduled backups. */
export const SCHEDULED_BACKUP_JOB = 'backup.scheduled';

/**
 * With `backup.schedule` set, a module whose cron job writes a backup on every
 * tick (once across all workers) and then applies the retention policy
 * (`backup.keepLast` / `backup.keepDaily`) when one is configured. Without a
 * schedule, nothing.
 */
export function backupScheduleModule(config: Readonly<PlinthConfig>): AnyModule | undefined {
  const { schedule, format, keepLast, keepDaily } = config.backup;
  if (!schedule) return undefined;
  return defineModule({
    name: 'backup-schedule',
    jobs: {
      [SCHEDULED_BACKUP_JOB]: {
        cron: schedule,
        // A failed backup leaves nothing that looks valid; trying again a few times is safe.
        maxAttempts: 3,
        async handler({ kernel, log }) {
          const store = createFsBackupStore(backupDir(kernel.config));
          const backup = await createBackup(kernel, { store, format });
          log.info({ backup: backup.name, bytes: backup.bytes, rows: backup.rows }, 'scheduled backup written');
          if (keepLast === undefined && keepDaily === undefined) return { backup: backup.name };
          const pruned = await pruneBackups(store, { keepLast, keepDaily });
          log.info({ kept: pruned.kept.length, deleted: pruned.deleted.map((b) => b.name) }, 'old backups pruned');
          return { backup: backup.name, deleted: pruned.deleted.length };
        },
      },
    },
  });
}
