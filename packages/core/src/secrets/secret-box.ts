import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { PlinthError } from '../errors.js';
import { pooledRandomBytes } from '../random-pool.js';

/**
 * Encrypts what cannot be hashed (TOTP secrets, OIDC client secrets, signing
 * keys, webhook secrets) with AES-256-GCM. A boxed value names its key, so
 * keys rotate: the first key encrypts, every key decrypts.
 */
export interface SecretBox {
  /** Id of the key new values are encrypted with. */
  readonly currentKeyId: string;
  /** `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url). `context` binds the value to where it is stored. */
  encrypt(plaintext: string, context?: string): string;
  decrypt(boxed: string, context?: string): string;
  /** True when the value was encrypted with another key than the current one. */
  needsRotation(boxed: string): boolean;
  /**
   * A keyed hash for looking up or comparing values that must not be stored in clear (a request body
   * with a password in it): HMAC-SHA-256 under a key derived (HKDF) from encryption key `keyId`
   * (default: the current one) and `context`. Answers `<keyId>.<base64url>`: the same input gives the
   * same value under one key, so a value made before a key rotation is checked with `macKeyId(value)`.
   * Throws `secrets.undecryptable` when `keyId` is not configured.
   */
  mac(data: string, context: string, keyId?: string): string;
}

/** The key id a `mac()` value was made with. */
export function macKeyId(mac: string): string {
  return mac.slice(0, Math.max(0, mac.indexOf('.')));
}

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** Parses `id:base64` entries (the `encryptionKeys` config). */
export function parseEncryptionKeys(entries: readonly string[]): EncryptionKey[] {
  return entries.map((entry) => {
    const at = entry.indexOf(':');
    const id = entry.slice(0, at);
    const key = Buffer.from(entry.slice(at + 1), entry.includes('-') || entry.includes('_') ? 'base64url' : 'base64');
    if (at < 1 || key.length !== 32) throw new PlinthError('config.invalid', `Encryption key "${id || '?'}" must be 32 bytes of base64`);
    return { id, key };
  });
}

/** A new `id:base64` key for the config. */
export function generateEncryptionKey(id = `k${Date.now().toString(36)}`): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

export function createSecretBox(keys: readonly EncryptionKey[]): SecretBox {
  const current = keys[0];
  if (!current) throw new PlinthError('config.invalid', 'At least one encryption key is needed');
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  const aad = (context: string | undefined) => Buffer.from(`plinth:${context ?? ''}`);
  const macKeys = new Map<string, Buffer>();
  const macKey = (keyId: string, context: string): Buffer => {
    const cacheKey = `${keyId}\n${context}`;
    let derived = macKeys.get(cacheKey);
    if (!derived) {
      const key = byId.get(keyId);
      if (!key) throw new PlinthError('secrets.undecryptable', `Encryption key "${keyId}" is not configured`);
      derived = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `plinth-mac:${context}`, 32));
      macKeys.set(cacheKey, derived);
    }
    return derived;
  };

  return {
    currentKeyId: current.id,
    encrypt(plaintext, context) {
      const iv = pooledRandomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', current.id, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    decrypt(boxed, context) {
      const [version, keyId, iv, body, tag] = boxed.split('.');
      const key = keyId === undefined ? undefined : byId.get(keyId);
      if (version !== 'v1' || !key || !iv || body === undefined || !tag) {
        throw new PlinthError('secrets.undecryptable', `A stored secret cannot be decrypted (key "${keyId ?? '?'}" is not configured)`);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(aad(context));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new PlinthError('secrets.undecryptable', 'A stored secret failed its integrity check', { cause: error });
      }
    },
    needsRotation: (boxed) => boxed.split('.')[1] !== current.id,
    mac(data, context, keyId = current.id) {
      return `${keyId}.${createHmac('sha256', macKey(keyId, context)).update(data).digest('base64url')}`;
    },
  };
}
