import { catalogErrors, type CatalogErrorCode } from '../../contract/catalog.js';
import { PlinthError, type PlinthErrorOptions } from '../../errors.js';

/** A PlinthError with a catalog code and the status from the code map. */
export function catalogError(code: CatalogErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: catalogErrors[code] });
}
