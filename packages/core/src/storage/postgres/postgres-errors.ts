import { PlinthError } from '../../errors.js';
import { storageErrors } from '../error-mapping.js';

const unreachable = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', '57P03', '3D000', '28P01', '28000']);

/** PostgreSQL SQLSTATE codes → stable Plinth errors. */
export function mapPostgresError(error: unknown): unknown {
  if (error instanceof PlinthError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  switch (code) {
    case '23505':
      return storageErrors.conflict(error);
    case '23503':
      return storageErrors.foreignKey(error);
    case '23502':
      return storageErrors.notNull(error);
    case '23514':
      return storageErrors.check(error);
    case '22021': // a NUL byte or invalid UTF-8 in text
    case '22P05':
      return new PlinthError('request.invalid_characters', 'Text must not contain NUL bytes or invalid characters', { cause: error });
    case '40001':
    case '40P01':
    case '55P03':
      return storageErrors.busy(error);
    default:
      return unreachable.has(code) ? storageErrors.unavailable(error) : error;
  }
}
