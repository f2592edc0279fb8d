import { jobsErrors, type JobsErrorCode } from '../contract/jobs.js';
import { PlinthError, type PlinthErrorOptions } from '../errors.js';

/** A PlinthError with a jobs code and the status from the code map. */
export function jobsError(code: JobsErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: jobsErrors[code] });
}
