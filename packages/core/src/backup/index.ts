/**
 * Backups and restore.
 *
 * Terminology:
 * - **backup**: a named folder in a `BackupStore` holding data files and a
 *   `manifest.json` (written last: a backup without one is incomplete and
 *   never listed).
 * - **logical format**: one gzip-compressed JSONL file per table; restores
 *   into SQLite or PostgreSQL. **native**: the SQLite file itself (`VACUUM
 *   INTO`), or a pg_dump archive.
 * - **schema version**: the ids of the migrations applied when the backup
 *   was taken; a restore replays them, loads the rows, then runs newer ones.
 */
export { createBackup, backupDir } from './create.js';
export type { CreateBackupOptions, BackupProgress, BackupSource } from './create.js';
export { restoreBackup } from './restore.js';
export type { RestoreOptions, RestoreReport } from './restore.js';
export { verifyBackup } from './verify.js';
export type { VerifyOptions, VerifyReport } from './verify.js';
export { listBackups, pruneBackups, deleteBackup, backupsToKeep } from './catalog.js';
export type { PrunePolicy, PruneReport } from './catalog.js';
export { createFsBackupStore } from './store.js';
export { backupScheduleModule, SCHEDULED_BACKUP_JOB } from './schedule.js';
export type { BackupStore, BackupFileInfo } from './store.js';
export type { BackupInfo, BackupManifest, BackupFormat } from './manifest.js';
export { tableChecksums } from './checksums.js';
export type { TableChecksum } from './checksums.js';
