import { createPrivateKey, type KeyObject, sign as signBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, errors as joseErrors } from 'jose';
import { LRUCache } from 'lru-cache';
import type { KernelContext } from '../../module.js';
import { identityError } from './errors.js';

const ALG = 'EdDSA';
const TYP = 'at+jwt';
/**
 * How often the key set is reloaded: at most this often when an unknown `kid` arrives, and at
 * least this often before signing, so a process picks up a key another process (`plinth keys
 * rotate`) created within this time. A retired key therefore verifies this much longer too.
 */
const RELOAD_INTERVAL_MS = 5000;

const base64url = (text: string): string => Buffer.from(text).toString('base64url');

export interface AccessClaims {
  userId: string;
  sessionId: string;
  roles: string[];
}

/** Seconds of clock skew accepted on `exp` (and `iat`): a token is valid until `exp + this`. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** A verified token's claims and when it expires (`exp`, in ms). */
export interface VerifiedToken {
  claims: AccessClaims;
  expiresAtMs: number;
}

/** Whether a verified token that expires at `expiresAtMs` is still accepted at `nowMs`. */
export const stillValid = (expiresAtMs: number, nowMs: number): boolean => expiresAtMs + CLOCK_TOLERANCE_SECONDS * 1000 > nowMs;

/** Encryption context of a signing key's private half (binds the ciphertext to its row). */
export const signingKeyContext = (kid: string): string => `signing_key:${kid}`;

type Key = Awaited<ReturnType<typeof importJWK>>;

interface LoadedKey {
  kid: string;
  createdAt: string;
  retiredAt: string | null;
  verify: Key;
  /** The private half, for `crypto.sign` (Ed25519 takes microseconds: signed in place, no thread-pool round trip). */
  sign?: KeyObject;
  /** The encoded protected header (`alg`, `kid`, `typ`): the same for every token this key signs. */
  header?: string;
}

export interface SigningKeyInfo {
  kid: string;
  alg: string;
  createdAt: string;
  retiredAt: string | null;
  /** Until when tokens signed with it verify (retired keys only). */
  verifiesUntil: string | null;
}

/**
 * Signs and verifies access tokens (RFC 9068 `at+jwt`, EdDSA). Keys live in
 * `signing_keys` (private halves encrypted with the secret box) and in memory;
 * verification needs no database read. `kid` is only ever a lookup key into the
 * loaded set, and the algorithm is fixed: the token header is never trusted.
 */
export interface TokenService {
  sign(claims: AccessClaims): Promise<{ token: string; expiresIn: number }>;
  verify(token: string): Promise<AccessClaims>;
  /** `verify`, with the token's expiry (what a caller caching by token needs to stop in time). */
  verifyWithExpiry(token: string): Promise<VerifiedToken>;
  /** A new signing key; the old ones stop signing and verify until their last tokens expire. */
  rotate(): Promise<SigningKeyInfo>;
  list(): Promise<SigningKeyInfo[]>;
}

export function createTokenService(kernel: KernelContext): TokenService {
  const { issuer, audience, accessTokenTtlSeconds: ttl } = kernel.config.auth;
  const keys = new Map<string, LoadedKey>();
  /** Tokens whose signature and claims checked out, with their expiry (bounded: the oldest go first). */
  const verified = new LRUCache<string, VerifiedToken>({ max: 10_000 });
  let current: LoadedKey | undefined;
  let loadedAt = 0;
  let loading: Promise<void> | undefined;

  // Another process may sign with a retired key until its next reload: those tokens live `ttl` longer.
  const verifyMs = (retiredAt: string) => Date.parse(retiredAt) + ttl * 1000 + RELOAD_INTERVAL_MS;
  const verifiesUntil = (retiredAt: string | null) => (retiredAt ? new Date(verifyMs(retiredAt)).toISOString() : null);

  async function load(): Promise<void> {
    const rows = await kernel.db.selectFrom('signing_keys').selectAll().orderBy('kid').execute();
    const now = kernel.clock.now();
    // Built aside and swapped in at once: a verify running meanwhile sees the old set, never an empty one.
    const next = new Map<string, LoadedKey>();
    let nextCurrent: LoadedKey | undefined;
    for (const row of rows as { kid: string; public_jwk: string; private_jwk: string; created_at: string; retired_at: string | null }[]) {
      if (row.retired_at && verifyMs(row.retired_at) < now) continue; // nothing it signed is still valid
      const known = keys.get(row.kid);
      const key: LoadedKey = {
        kid: row.kid,
        createdAt: row.created_at,
        retiredAt: row.retired_at,
        verify: known?.verify ?? (await importJWK(JSON.parse(row.public_jwk) as JWK, ALG)),
      };
      if (!row.retired_at) {
        key.sign = known?.sign ?? createPrivateKey({ key: JSON.parse(kernel.secrets.decrypt(row.private_jwk, signingKeyContext(row.kid))) as JWK & { kty: string }, format: 'jwk' });
        key.header = base64url(JSON.stringify({ alg: ALG, kid: row.kid, typ: TYP }));
        nextCurrent = key; // kids are time-ordered: the last active one wins
      }
      next.set(row.kid, key);
    }
    keys.clear();
    for (const [kid, key] of next) keys.set(kid, key);
    current = nextCurrent;
    loadedAt = kernel.clock.now();
  }

  function reload(): Promise<void> {
    loading ??= load().finally(() => {
      loading = undefined;
    });
    return loading;
  }

  async function insertKey(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
    const kid = kernel.ids.next();
    const now = new Date(kernel.clock.now()).toISOString();
    await kernel.transaction(async (tx) => {
      await tx.db.updateTable('signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute();
      await tx.db
        .insertInto('signing_keys')
        .values({
          kid,
          alg: ALG,
          public_jwk: JSON.stringify(await exportJWK(publicKey)),
          private_jwk: kernel.secrets.encrypt(JSON.stringify(await exportJWK(privateKey)), signingKeyContext(kid)),
          created_at: now,
          retired_at: null,
        })
        .execute();
    });
    return kid;
  }

  async function signingKey(): Promise<LoadedKey> {
    if (!current || kernel.clock.now() - loadedAt > RELOAD_INTERVAL_MS) await reload();
    if (!current) {
      await insertKey();
      await reload();
    }
    if (!current?.sign) throw identityError('auth.signing_key_unavailable', 'No signing key is available');
    return current;
  }

  function invalid(cause?: unknown) {
    return identityError('auth.invalid_token', 'The access token is not valid or has expired', { cause });
  }

  const service: TokenService = {
    async sign(claims) {
      const key = await signingKey();
      const now = Math.floor(kernel.clock.now() / 1000);
      // A compact JWS (RFC 7515) built by hand: Ed25519 over `header.payload`. The claims are
      // what jose's SignJWT wrote (tests verify these tokens with jose); signing in place avoids
      // WebCrypto's thread-pool job, which waits behind every password hash queued there.
      const payload = base64url(
        JSON.stringify({ sid: claims.sessionId, roles: claims.roles, iss: issuer, aud: audience, sub: claims.userId, iat: now, exp: now + ttl }),
      );
      const input = `${key.header!}.${payload}`;
      const token = `${input}.${signBytes(null, Buffer.from(input), key.sign!).toString('base64url')}`;
      return { token, expiresIn: ttl };
    },

    async verify(token) {
      return (await service.verifyWithExpiry(token)).claims;
    },

    async verifyWithExpiry(token) {
      // A token that verified once needs no second signature check until it expires.
      const known = verified.get(token);
      if (known) {
        if (stillValid(known.expiresAtMs, kernel.clock.now())) return known;
        verified.delete(token);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(
          token,
          async (header) => {
            const kid = typeof header.kid === 'string' && header.kid.length <= 64 ? header.kid : undefined;
            if (!kid) throw invalid();
            let key = keys.get(kid);
            if (!key && kernel.clock.now() - loadedAt > RELOAD_INTERVAL_MS) {
              await reload();
              key = keys.get(kid);
            }
            if (!key) throw invalid();
            return key.verify;
          },
          {
            algorithms: [ALG],
            issuer,
            audience,
            typ: TYP,
            requiredClaims: ['sub', 'exp', 'iat'],
            currentDate: new Date(kernel.clock.now()),
            clockTolerance: CLOCK_TOLERANCE_SECONDS,
          },
        ));
      } catch (error) {
        if (error instanceof joseErrors.JOSEError || (error as { code?: string }).code === 'auth.invalid_token') throw invalid(error);
        throw error;
      }
      const { sub, sid, roles } = payload as JWTPayload & { sid?: unknown; roles?: unknown };
      if (typeof sub !== 'string' || typeof sid !== 'string' || !Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
        throw invalid();
      }
      const entry: VerifiedToken = { claims: { userId: sub, sessionId: sid, roles: roles as string[] }, expiresAtMs: (payload.exp ?? 0) * 1000 };
      verified.set(token, entry);
      return entry;
    },

    async rotate() {
      const kid = await insertKey();
      await reload();
      return (await this.list()).find((k) => k.kid === kid)!;
    },

    async list() {
      const rows = await kernel.db.selectFrom('signing_keys').select(['kid', 'alg', 'created_at', 'retired_at']).orderBy('kid').execute();
      return rows.map((r: any) => ({ kid: r.kid, alg: r.alg, createdAt: r.created_at, retiredAt: r.retired_at, verifiesUntil: verifiesUntil(r.retired_at) }));
    },
  };
  return service;
}
