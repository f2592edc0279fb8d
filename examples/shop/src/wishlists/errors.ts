import { PlinthError, type PlinthErrorOptions } from '@plinth/core';
import { wishlistErrors, type WishlistErrorCode } from './contract.js';

/** A PlinthError with a wishlists code and the status from the code map: the server turns it into a problem+json answer. */
export function wishlistError(code: WishlistErrorCode, message: string, options: Omit<PlinthErrorOptions, 'status'> = {}): PlinthError {
  return new PlinthError(code, message, { ...options, status: wishlistErrors[code] });
}
