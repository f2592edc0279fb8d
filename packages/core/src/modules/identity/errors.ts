import { identityErrors, type IdentityErrorCode } from '../../contract/identity.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';

/** A PlinthError with an identity code and the status from the code map. */
export function identityError(code: IdentityErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: identityErrors[code] });
}
