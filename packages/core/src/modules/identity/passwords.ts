import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { commonPasswordsText } from './common-passwords.js';
import { identityError } from './errors.js';

export interface PasswordParams {
  /** Argon2id memory in KiB (OWASP: 19456). */
  memoryKib: number;
  /** Argon2id iterations (OWASP: 2). */
  iterations: number;
}

/**
 * Argon2id hashing. The PHC string stores its own parameters, so a hash made
 * with older parameters still verifies and is flagged for re-hashing.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<boolean>;
  /** True when `stored` was made with other parameters than the current ones. */
  needsRehash(stored: string): boolean;
  /** Verifies against a throwaway hash: makes "no such user" cost what a wrong password costs. */
  burn(password: string): Promise<void>;
}

export function createPasswordHasher(params: PasswordParams): PasswordHasher {
  // The library's default algorithm is Argon2id (v=19).
  const options = { memoryCost: params.memoryKib, timeCost: params.iterations, parallelism: 1 };
  const current = `$argon2id$v=19$m=${params.memoryKib},t=${params.iterations},p=1$`;
  // A well-formed hash with the current parameters that no password matches: verifying against it
  // costs one Argon2id run, exactly what a real verification costs, and nothing has to be hashed first.
  const b64 = (bytes: number) => randomBytes(bytes).toString('base64').replace(/=+$/, '');
  const dummy = `${current}${b64(16)}$${b64(32)}`;
  const hasher: PasswordHasher = {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      try {
        return await verify(stored, password);
      } catch {
        return false; // a malformed stored hash never verifies
      }
    },
    needsRehash: (stored) => !stored.startsWith(current),
    async burn(password) {
      await hasher.verify(dummy, password);
    },
  };
  return hasher;
}

let common: Set<string> | undefined;

/** Rejects the most common passwords and ones built from the email's local part. */
export function assertStrongPassword(password: string, email?: string): void {
  common ??= new Set(commonPasswordsText.split('\n'));
  const lower = password.toLowerCase();
  if (common.has(lower)) {
    throw identityError('auth.weak_password', 'This password is too common; choose another', {
      errors: [{ path: 'body.password', message: 'is one of the most common passwords', code: 'common_password' }],
    });
  }
  const local = email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local)) {
    throw identityError('auth.weak_password', 'The password must not contain your email address', {
      errors: [{ path: 'body.password', message: 'contains the email address', code: 'contains_email' }],
    });
  }
  if (/^(.)\1+$/.test(password)) {
    throw identityError('auth.weak_password', 'The password must not be one repeated character', {
      errors: [{ path: 'body.password', message: 'is one repeated character', code: 'repeated_character' }],
    });
  }
}
