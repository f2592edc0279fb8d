/**
 * API keys for machines.
 *
 * - format: `plk_` + 32 random bytes (base64url, 43 characters) + `_` + a 6-character
 *   checksum (CRC-32 of everything before it, base62). The prefix lets secret scanners
 *   find leaked keys; the checksum rejects typos and junk without a database read.
 * - storage: only the SHA-256 (hex) of the whole key, under a unique index; `prefix`
 *   (the first 12 characters) is kept for display. The key is shown once, on creation.
 * - rights: a key acts for its owner, never beyond them, and only within its scopes.
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type Actor, forbidden, unauthenticated } from '../../auth.js';
import type { apiKeySchema } from '../../contract/identity.js';
import { PlinthError, type FieldError } from '../../errors.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import type { AccessService } from '../access/service.js';
import { identityError } from './errors.js';
import { constantTimeEqual, sha256 } from './secure-token.js';
import type { Caller } from './types.js';
import type { z } from 'zod';

export type ApiKey = z.infer<typeof apiKeySchema>;
export interface CreatedApiKey extends ApiKey {
  /** The key itself: shown once, never stored. */
  key: string;
}
export type ApiKeyActor = Extract<Actor, { kind: 'api_key' }>;

export interface CreateApiKeyInput {
  name: string;
  /** Permissions the key is limited to; each must be held by the creator. Default none. */
  scopes?: readonly string[] | undefined;
  /** RFC 3339; must be in the future. Default: never expires. */
  expiresAt?: string | null | undefined;
  /** Whose key: only the system actor (CLI) names another user; default the caller. */
  userId?: string | undefined;
}

export interface ApiKeyService {
  createApiKey(input: CreateApiKeyInput, caller: Caller): Promise<CreatedApiKey>;
  /** The caller's own keys (revoked ones too), newest first; the system actor passes `userId`. */
  listApiKeys(caller: Caller, page?: { limit?: number | undefined; cursor?: string | undefined; userId?: string | undefined }): Promise<{ data: ApiKey[]; nextCursor: string | null }>;
  /** Revokes one of the caller's keys; someone else's answers 404. Revoking twice is a no-op. */
  revokeApiKey(id: string, caller: Caller): Promise<void>;
  /** The actor behind a key, or 401 `auth.api_key_invalid` (bad checksum, unknown, revoked, expired, owner not active). */
  authenticateApiKey(key: string, caller?: Caller): Promise<ApiKeyActor>;
}

export const API_KEY_PREFIX = 'plk_';
/** `last_used_at` is written at most this often per key. */
export const API_KEY_TOUCH_INTERVAL_MS = 60_000;
const KEY_FORMAT = /^plk_[A-Za-z0-9_-]{43}_[0-9A-Za-z]{6}$/;
const DISPLAY_LENGTH = 12;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3), as zlib computes it. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Six base62 digits hold any 32-bit value (62^6 > 2^32). */
function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A new random key with its checksum. */
export function generateApiKey(): string {
  const body = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return `${body}_${checksum(body)}`;
}

/** Shape and checksum only: what a secret scanner or a client can check offline. */
export function isWellFormedApiKey(key: string): boolean {
  if (key.length !== 54 || !KEY_FORMAT.test(key)) return false;
  return checksum(key.slice(0, 47)) === key.slice(48);
}

interface ApiKeyRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: unknown;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/**
 * Plugs API keys into the identity service: `authenticate` then accepts
 * `X-API-Key: plk_...` and `Authorization: Bearer plk_...`, and the API-key
 * routes find the service as `identity.apiKeys`.
 */
export function withApiKeys<S extends { useApiKeyAuthenticator(fn: (key: string, caller: Caller) => Promise<Actor>): void }>(
  kernel: KernelContext,
  identity: S,
): S & { apiKeys: ApiKeyService } {
  const apiKeys = createApiKeyService(kernel);
  identity.useApiKeyAuthenticator((key, caller) => apiKeys.authenticateApiKey(key, caller));
  return Object.assign(identity, { apiKeys });
}

export function createApiKeyService(kernel: KernelContext): ApiKeyService {
  const db = () => kernel.db;
  const iso = (ms: number) => new Date(ms).toISOString();
  const access = () => kernel.optionalService<AccessService>('access');
  const audit = () => kernel.optionalService<AuditService>('audit');
  const invalid = () => identityError('auth.api_key_invalid', 'The API key is not valid');
  /** When each key's `last_used_at` was last written by this process. */
  const touched = new LRUCache<string, number>({ max: 50_000 });

  const toApiKey = (row: ApiKeyRow): ApiKey => ({
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: kernel.storage.fromJson<string[]>(row.scopes),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  });

  function ownerOf(actor: Actor | null, userId: string | undefined): string {
    if (!actor) throw unauthenticated();
    if (actor.kind === 'system') {
      if (!userId) throw new PlinthError('validation.failed', 'Name the user', { errors: [{ path: 'userId', message: 'required for the system actor', code: 'required' }] });
      return userId;
    }
    if (userId !== undefined && userId !== actor.userId) throw forbidden('You can only manage your own API keys');
    return actor.userId;
  }

  async function rolesOf(userId: string): Promise<string[]> {
    return (await access()?.rolesOf(userId)) ?? [];
  }

  /** 422 for undeclared permissions, 403 for scopes beyond what the creator (and the owner) holds. */
  async function checkScopes(actor: Actor, ownerId: string, scopes: readonly string[]): Promise<void> {
    const service = access();
    const errors: FieldError[] = [];
    scopes.forEach((scope, i) => {
      if (service && !service.isKnownPermission(scope)) errors.push({ path: `scopes.${i}`, message: `unknown permission "${scope}"`, code: 'unknown_permission' });
    });
    if (errors.length) throw new PlinthError('validation.failed', 'Some scopes are not permissions of any loaded module', { errors });
    if (!scopes.length) return;
    // The system actor creates keys for a user: the key is then bounded by that user.
    const bound: Actor = actor.kind === 'system' ? { kind: 'user', userId: ownerId, sessionId: '', roles: await rolesOf(ownerId) } : actor;
    for (const scope of scopes) {
      const allowed = service ? await service.canDelegate(bound, scope) : await kernel.can(bound, scope);
      if (!allowed) throw forbidden(`You cannot give a key the scope "${scope}": you do not hold it`);
    }
  }

  async function touch(row: ApiKeyRow & { last_used_at: string | null }): Promise<void> {
    const now = kernel.clock.now();
    const last = touched.get(row.id) ?? (row.last_used_at ? Date.parse(row.last_used_at) : undefined);
    if (last !== undefined && now - last < API_KEY_TOUCH_INTERVAL_MS) {
      if (!touched.has(row.id)) touched.set(row.id, last);
      return;
    }
    touched.set(row.id, now);
    try {
      await db()
        .updateTable('api_keys')
        .set({ last_used_at: iso(now) })
        .where('id', '=', row.id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', iso(now - API_KEY_TOUCH_INTERVAL_MS))]))
        .execute();
    } catch (error) {
      // Bookkeeping only: a busy database must not turn a valid key away.
      kernel.logger.warn({ err: (error as Error).message, keyId: row.id }, 'could not record API key use');
    }
  }

  return {
    async createApiKey(input, caller) {
      const actor = caller.actor;
      const ownerId = ownerOf(actor, input.userId);
      await kernel.authorize(actor, 'api_keys:write', { type: 'api_key', ownerId });
      const scopes = [...new Set(input.scopes ?? [])].sort();
      let expiresAt: string | null = null;
      if (input.expiresAt) {
        const at = Date.parse(input.expiresAt);
        if (Number.isNaN(at) || at <= kernel.clock.now()) {
          throw new PlinthError('validation.failed', 'The expiry must be a time in the future', {
            errors: [{ path: 'expiresAt', message: 'must be in the future', code: 'too_small' }],
          });
        }
        expiresAt = iso(at);
      }
      await checkScopes(actor!, ownerId, scopes);
      const key = generateApiKey();
      const row: ApiKeyRow = {
        id: kernel.ids.next(),
        user_id: ownerId,
        name: input.name,
        prefix: key.slice(0, DISPLAY_LENGTH),
        key_hash: sha256(key),
        scopes: kernel.storage.toJson(scopes),
        created_at: iso(kernel.clock.now()),
        expires_at: expiresAt,
        last_used_at: null,
        revoked_at: null,
      };
      await kernel.transaction(async () => {
        const owner = await db().selectFrom('users').select('status').where('id', '=', ownerId).executeTakeFirst();
        if (!owner || owner.status !== 'active') throw new PlinthError('resource.not_found', 'No such active user');
        await db().insertInto('api_keys').values(row).execute();
        await audit()?.record(caller, {
          action: 'api_key.created',
          target: { type: 'api_key', id: row.id },
          data: { userId: ownerId, name: row.name, prefix: row.prefix, scopes, expiresAt },
        });
      });
      return { ...toApiKey(row), scopes, key };
    },

    async listApiKeys(caller, page = {}) {
      const ownerId = ownerOf(caller.actor, page.userId);
      await kernel.authorize(caller.actor, 'api_keys:read', { type: 'api_key', ownerId });
      const limit = Math.min(Math.max(Math.trunc(page.limit ?? 20), 1), 100);
      let q = db().selectFrom('api_keys').selectAll().where('user_id', '=', ownerId);
      if (page.cursor) q = q.where('id', '<', page.cursor);
      const rows = (await q.orderBy('id', 'desc').limit(limit + 1).execute()) as ApiKeyRow[];
      const more = rows.length > limit;
      const kept = more ? rows.slice(0, limit) : rows;
      return { data: kept.map(toApiKey), nextCursor: more ? kept[kept.length - 1]!.id : null };
    },

    async revokeApiKey(id, caller) {
      const actor = caller.actor;
      if (!actor) throw unauthenticated();
      const notFound = () => new PlinthError('resource.not_found', 'No such API key');
      await kernel.transaction(async () => {
        const row = (await kernel.storage.forUpdate(db().selectFrom('api_keys').selectAll().where('id', '=', id)).executeTakeFirst()) as ApiKeyRow | undefined;
        // Someone else's key does not exist, as far as the caller is told.
        if (!row || (actor.kind !== 'system' && row.user_id !== actor.userId)) throw notFound();
        await kernel.authorize(actor, 'api_keys:write', { type: 'api_key', id, ownerId: row.user_id });
        if (row.revoked_at) return;
        await db().updateTable('api_keys').set({ revoked_at: iso(kernel.clock.now()) }).where('id', '=', id).execute();
        await audit()?.record(caller, { action: 'api_key.revoked', target: { type: 'api_key', id }, data: { userId: row.user_id, prefix: row.prefix } });
      });
      touched.delete(id);
    },

    async authenticateApiKey(key) {
      if (typeof key !== 'string' || !isWellFormedApiKey(key)) throw invalid();
      const hash = sha256(key);
      const row = (await db()
        .selectFrom('api_keys as k')
        .innerJoin('users as u', 'u.id', 'k.user_id')
        .select(['k.id', 'k.user_id', 'k.key_hash', 'k.scopes', 'k.expires_at', 'k.revoked_at', 'k.last_used_at', 'u.status'])
        .where('k.key_hash', '=', hash)
        .executeTakeFirst()) as (ApiKeyRow & { status: string }) | undefined;
      if (!row || !constantTimeEqual(row.key_hash, hash)) throw invalid();
      if (row.revoked_at || row.status !== 'active') throw invalid();
      if (row.expires_at && Date.parse(row.expires_at) <= kernel.clock.now()) throw invalid();
      const roles = await rolesOf(row.user_id);
      await touch(row);
      return { kind: 'api_key', keyId: row.id, userId: row.user_id, roles, scopes: kernel.storage.fromJson<string[]>(row.scopes) };
    },
  };
}
