/** `plinth backup create --format logical` on SQLite, MB/s (see backupCreateScenario). */
import { backupCreateScenario } from '../lib/backup-db.mjs';

export const { summary, loop, measure } = backupCreateScenario('logical');
