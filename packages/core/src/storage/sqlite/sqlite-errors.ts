import { PlinthError } from '../../errors.js';
import { storageErrors } from '../error-mapping.js';

/** better-sqlite3 error codes → stable Plinth errors. */
export function mapSqliteError(error: unknown): unknown {
  if (error instanceof PlinthError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  switch (code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return storageErrors.conflict(error);
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return storageErrors.foreignKey(error);
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return storageErrors.notNull(error);
    case 'SQLITE_CONSTRAINT_CHECK':
      return storageErrors.check(error);
    case 'SQLITE_BUSY':
    case 'SQLITE_BUSY_SNAPSHOT':
    case 'SQLITE_LOCKED':
      return storageErrors.busy(error);
    case 'SQLITE_CANTOPEN':
      return storageErrors.unavailable(error);
    default:
      return error;
  }
}
