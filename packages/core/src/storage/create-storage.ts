import type { PlinthConfig } from '../config.js';
import { createPostgresStorage } from './postgres/postgres-storage.js';
import { createSqliteStorage } from './sqlite/sqlite-storage.js';
import type { Storage } from './storage.js';
import { parseDatabaseUrl } from './url.js';

export interface CreateStorageOptions {
  /** Open an existing SQLite file only; never create one. */
  fileMustExist?: boolean;
}

/** Picks the adapter from the URL scheme. */
export function createStorage(config: Pick<PlinthConfig, 'databaseUrl' | 'database'>, options: CreateStorageOptions = {}): Storage {
  const target = parseDatabaseUrl(config.databaseUrl);
  if (target.dialect === 'postgres') {
    return createPostgresStorage({ connectionString: target.connectionString, poolMax: config.database.poolMax });
  }
  return createSqliteStorage({
    filename: target.filename,
    busyTimeoutMs: config.database.busyTimeoutMs,
    synchronous: config.database.sqliteSynchronous,
    fileMustExist: options.fileMustExist ?? false,
  });
}
