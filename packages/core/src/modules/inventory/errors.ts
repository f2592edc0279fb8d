import { inventoryErrors, type InventoryErrorCode } from '../../contract/inventory.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';

/** A PlinthError with an inventory code and the status from the code map. */
export function inventoryError(code: InventoryErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: inventoryErrors[code] });
}
