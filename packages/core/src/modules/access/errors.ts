import { accessErrors, type AccessErrorCode } from '../../contract/access.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';

/** A PlinthError with an access code and the status from the code map. */
export function accessError(code: AccessErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: accessErrors[code] });
}
