import { notificationsErrors, type NotificationsErrorCode } from '../../contract/notifications.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';

/** A PlinthError with a notifications code and the status from the code map. */
export function notificationsError(code: NotificationsErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: notificationsErrors[code] });
}
