import { ordersErrors, type OrdersErrorCode } from '../../contract/orders.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';

/** A PlinthError with an orders code and the status from the code map. */
export function ordersError(code: OrdersErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: ordersErrors[code] });
}
