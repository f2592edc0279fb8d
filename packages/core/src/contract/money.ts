import { z } from 'zod';

/** ISO 4217 codes the runtime knows (`Intl`), or any three capital letters where it knows none. */
const knownCurrencies: ReadonlySet<string> | undefined = (() => {
  try {
    const list = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('currency');
    return list?.length ? new Set(list) : undefined;
  } catch {
    return undefined;
  }
})();

/** An ISO 4217 currency code, upper case: `EUR`, `USD`, `JPY`. */
export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code in capitals, e.g. EUR')
  .refine((code) => !knownCurrencies || knownCurrencies.has(code), 'is not an ISO 4217 currency');

/** Largest amount of one price, in minor units (100 million in a 2-decimal currency). */
export const MAX_PRICE = 10_000_000_000;

/** Money is always an integer amount of minor units (cents) and its currency. */
export const moneySchema = z.object({
  amount: z.number().int('must be a whole number of minor units').min(0).max(Number.MAX_SAFE_INTEGER),
  currency: currencySchema,
});
export type Money = z.infer<typeof moneySchema>;

/** A price as sent by staff: at most `MAX_PRICE`. */
export const priceInputSchema = z
  .object({
    amount: z.number().int('must be a whole number of minor units').min(0).max(MAX_PRICE),
    currency: currencySchema,
  })
  .strict();

/** A version for optimistic concurrency (as returned by the resource). */
export const versionSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
