import { webhooksErrors, type WebhooksErrorCode } from '../../contract/webhooks.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';

/** A PlinthError with a webhooks code and the status from the code map. */
export function webhooksError(code: WebhooksErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: webhooksErrors[code] });
}
