import { ordersErrors, type OrdersErrorCode } from '../../contract/orders.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';
import type { SellableSku } from '../catalog/types.js';

/** A PlinthError with an orders code and the status from the code map. */
export function ordersError(code: OrdersErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: ordersErrors[code] });
}

/** Why these SKUs cannot make one order (unknown or inactive ones, then mixed currencies), or undefined when they can. */
export function unsellable(skus: readonly string[], found: ReadonlyMap<string, SellableSku>): PlinthError | undefined {
  const unknown = skus.filter((s) => !found.get(s)?.active);
  if (unknown.length) return ordersError('orders.unknown_sku', `Not for sale: ${unknown.join(', ')}`, { details: { skus: unknown } });
  const currencies = new Set(skus.map((s) => found.get(s)!.currency));
  if (currencies.size > 1) {
    return ordersError('orders.mixed_currencies', 'One order is paid in one currency: order these items separately', { details: { currencies: [...currencies].sort() } });
  }
  return undefined;
}
