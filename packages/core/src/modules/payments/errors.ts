import { paymentsErrors, type PaymentsErrorCode } from '../../contract/payments.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';

/** A PlinthError with a payments code and the status from the code map. */
export function paymentsError(code: PaymentsErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: paymentsErrors[code] });
}
