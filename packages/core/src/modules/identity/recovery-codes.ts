/**
 * MFA recovery codes: `xxxx-xxxx-xxxx` in Crockford's base32 alphabet, lower
 * case (no i, l, o, u: nothing to misread), 12 random characters = 60 bits.
 *
 * Only a hash is stored: SHA-256 of the canonical code salted with the user's
 * id. 60 random bits make a slow hash unnecessary for one code; the salt stops
 * one brute-force run from testing every user's codes at once. Lookups go
 * through the hash, so comparing takes no per-code work.
 */
import { randomBytes } from 'node:crypto';
import { sha256 } from './secure-token.js';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // 32 symbols: one byte & 31 is unbiased
const LENGTH = 12;
/** Crockford's decoding: what people type for the symbols left out. */
const LOOKALIKES: Record<string, string> = { i: '1', l: '1', o: '0' };

/** One new code, formatted for people: `xxxx-xxxx-xxxx`. */
export function newRecoveryCode(): string {
  const bytes = randomBytes(LENGTH);
  let code = '';
  for (const byte of bytes) code += ALPHABET[byte & 31];
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
}

/**
 * A code as typed (any case, with or without hyphens and spaces) in canonical
 * form — 12 lower-case symbols — or `null` when it cannot be a recovery code.
 */
export function canonicalRecoveryCode(input: string): string | null {
  const compact = input.toLowerCase().replace(/[\s-]/g, '').replace(/[ilo]/g, (c) => LOOKALIKES[c]!);
  if (compact.length !== LENGTH) return null;
  for (const c of compact) if (!ALPHABET.includes(c)) return null;
  return compact;
}

/** What `recovery_codes.code_hash` holds for a canonical code. */
export function recoveryCodeHash(userId: string, canonical: string): string {
  return sha256(`plinth-recovery:${userId}:${canonical}`);
}
