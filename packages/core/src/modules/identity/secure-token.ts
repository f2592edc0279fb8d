import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `<prefix>_` + 256 random bits, base64url: refresh tokens, email links, MFA challenges. */
export function newOpaqueToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** What is stored instead of a token: its SHA-256, hex. Lookups go through this hash. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
