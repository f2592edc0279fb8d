/**
 * RFC 6238 TOTP with the authenticator-app defaults: HMAC-SHA1, 6 digits, 30 s
 * steps, 160-bit secrets (RFC 4226 §4 recommends 160 bits).
 *
 * - step: `floor(unix seconds / 30)`; a code belongs to one step.
 * - skew: a code of the step before or after the server's is accepted too (±1 step, ±30 s).
 * - replay: the caller passes the last step it accepted; only later steps match
 *   (RFC 6238 §5.2), so a code — or an earlier one — is never accepted twice.
 */
import { Secret, TOTP } from 'otpauth';
import { constantTimeEqual } from './secure-token.js';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_ALGORITHM = 'SHA1';
/** Steps of clock skew accepted either way. */
export const TOTP_SKEW_STEPS = 1;
const SECRET_BYTES = 20;

/** The secret-box context of a user's TOTP secret: the ciphertext only decrypts in its own row. */
export const totpSecretContext = (userId: string) => `totp:${userId}`;

/** A fresh random 160-bit secret, base32 (32 characters, no padding). */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The RFC 6238 time step of a moment (ms since the epoch). */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code of one step. */
export function totpCode(secretBase32: string, step: number): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secretBase32),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    timestamp: step * TOTP_PERIOD_SECONDS * 1000,
  });
}

/**
 * The step `code` belongs to, within ±`TOTP_SKEW_STEPS` of `nowMs` and later than
 * `lastStep`; `null` when there is none. Every candidate is computed and compared
 * in constant time, so the answer's timing says nothing about which step matched.
 */
export function matchTotp(secretBase32: string, code: string, nowMs: number, lastStep: number | null): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const now = totpStep(nowMs);
  let matched: number | null = null;
  for (let step = now - TOTP_SKEW_STEPS; step <= now + TOTP_SKEW_STEPS; step++) {
    const equal = constantTimeEqual(totpCode(secretBase32, step), code);
    if (equal && matched === null && (lastStep === null || step > lastStep)) matched = step;
  }
  return matched;
}

/** The `otpauth://totp/...` URI authenticator apps scan. */
export function totpUri(options: { issuer: string; label: string; secret: string }): string {
  return new TOTP({
    issuer: options.issuer,
    label: options.label,
    secret: Secret.fromBase32(options.secret),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  }).toString();
}

/**
 * What authenticator apps show above the code: the host of `appUrl`, or
 * `Plinth` while `appUrl` is a loopback address (development).
 */
export function totpIssuer(appUrl: string): string {
  try {
    const host = new URL(appUrl).hostname;
    if (host && !['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) return host;
  } catch {
    // fall through
  }
  return 'Plinth';
}

/**
 * Renders an `otpauth://` URI as a QR code for a terminal (the CLI and the
 * admin console print it at enrollment). The string holds the secret: print it,
 * never log it.
 */
export async function totpQrCode(otpauthUri: string): Promise<string> {
  const qrcode = await import('qrcode'); // loaded on demand: servers never draw QR codes
  return qrcode.toString(otpauthUri, { type: 'terminal', small: true });
}
