/**
 * Terminology
 * - key: the `Idempotency-Key` header of a POST, 1..255 printable ASCII characters.
 * - scope: whose key it is. `user:<id>`, `api_key:<id>`, `system:<name>` for a caller;
 *   for an anonymous request `anon:<fingerprint>`, so an anonymous key is bound to the whole
 *   request (which carries its credential: a password, a refresh or reset token).
 * - fingerprint: HMAC-SHA-256 (keyed with the secret box, never a bare hash: bodies hold
 *   passwords) of the method, the path with its query and the canonical JSON body.
 * - lease: the right to run the request under a key; in flight until `locked_until`, after
 *   which another request may take the key over (the holder crashed).
 * - record: the status, headers and body of the first answer, encrypted, replayed to retries.
 */
import { CompiledQuery } from 'kysely';
import type { Actor } from '../auth.js';
import { PlinthError } from '../errors.js';
import type { KernelContext } from '../module.js';
import { macKeyId } from '../secrets/secret-box.js';
import { canonicalJson } from '../canonical-json.js';
import { pooledRandomBytes } from '../random-pool.js';
import { IDEMPOTENCY_TABLE } from './migration.js';

/** What identifies a request for idempotency. */
export interface IdempotentRequest {
  /** The caller; `null` for an anonymous request. */
  actor: Actor | null;
  /** The `Idempotency-Key` header as received. */
  key: string | string[];
  method: string;
  /** The path with its query string, as requested. */
  target: string;
  /** The parsed JSON body; `undefined` when there is none. */
  body: unknown;
}

/** An answer as recorded and replayed: status, the headers the handler set (lower-case), the body text. */
export interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The right to run a request under its key. Settle it exactly once. */
export interface IdempotencyLease {
  /** Records the answer for replay; `false` when the lease was lost (it ran past its lock and was taken over). */
  complete(response: RecordedResponse): Promise<boolean>;
  /** Gives the key up (a 5xx or a crash): a retry runs the request again. */
  release(): Promise<void>;
}

export type IdempotencyStart = { kind: 'run'; lease: IdempotencyLease } | { kind: 'replay'; response: RecordedResponse };

export interface IdempotencyService {
  /**
   * Claims the key for this request in its own statement (call it outside any transaction, so
   * that a concurrent duplicate sees the claim): `run` it, or `replay` the recorded answer.
   * Throws 400 `idempotency.invalid_key`, 409 `idempotency.in_flight` (the first request still
   * runs), 422 `idempotency.key_reused` (the key was used for another request).
   */
  begin(request: IdempotentRequest): Promise<IdempotencyStart>;
  /**
   * `begin` inside the caller's transaction, for a handler that only writes to the database:
   * the claim, the handler's writes and the recorded answer (`lease.complete`, in the same
   * transaction) commit together, or not at all. A concurrent duplicate is refused with 409
   * `idempotency.in_flight`, as on other routes: on PostgreSQL the claim takes a transaction-level
   * advisory lock on the key (other processes), and `exclusive()` marks the key in this process.
   * Does not prune: call `pruneIfDue()` after the transaction.
   */
  beginInTransaction(request: IdempotentRequest): Promise<IdempotencyStart>;
  /**
   * Runs `fn` (the transaction of `beginInTransaction`) while this process marks the request's
   * key as running; a duplicate arriving meanwhile gets 409 `idempotency.in_flight` at once
   * instead of waiting for the writer.
   */
  exclusive<T>(request: IdempotentRequest, fn: () => Promise<T>): Promise<T>;
  /** Starts a prune in the background when the last one is a minute old (`begin` does it by itself). Call outside any transaction. */
  pruneIfDue(): void;
  /** Deletes up to `limit` expired keys; answers how many. Also runs by itself, at most once a minute, from `begin`. */
  prune(limit?: number): Promise<number>;
}

interface KeyRow {
  id: string;
  scope: string;
  key: string;
  fingerprint: string;
  lease: string;
  locked_until: string | null;
  status: number | null;
  response: string | null;
  created_at: string;
  expires_at: string;
}

const MAC_CONTEXT = 'idempotency';
const completeText = (p: (n: number) => string) =>
  `update "${IDEMPOTENCY_TABLE}" set "status" = ${p(1)}, "response" = ${p(2)}, "locked_until" = null, "expires_at" = ${p(3)} where "id" = ${p(4)} and "lease" = ${p(5)}`;
const claimText = (p: (n: number) => string) =>
  `insert into "${IDEMPOTENCY_TABLE}" ("id", "scope", "key", "fingerprint", "lease", "locked_until", "status", "response", "created_at", "expires_at") ` +
  `values (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, null, null, ${p(7)}, ${p(8)}) on conflict ("scope", "key") do nothing`;
const claimSql = { sqlite: claimText(() => '?'), postgres: claimText((n) => `$${n}`) } as const;
const completeSql = { sqlite: completeText(() => '?'), postgres: completeText((n) => `$${n}`) } as const;
/**
 * PostgreSQL, in a transaction: the transaction-level advisory lock on the key, then the insert
 * only if the lock was had, in one round trip. `$1`: the lock's key text; then the row as in `claimText`.
 */
const lockedClaimSql =
  `with "lock" as (select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as "ok"), ` +
  `"ins" as (insert into "${IDEMPOTENCY_TABLE}" ("id", "scope", "key", "fingerprint", "lease", "locked_until", "status", "response", "created_at", "expires_at") ` +
  'select $2, $3, $4, $5, $6, cast($7 as timestamptz), cast(null as integer), cast(null as text), cast($8 as timestamptz), cast($9 as timestamptz) ' +
  'from "lock" where "lock"."ok" on conflict ("scope", "key") do nothing returning 1) ' +
  'select (select "ok" from "lock") as "ok", exists (select 1 from "ins") as "inserted"';
const PRUNE_INTERVAL_MS = 60_000;
const PRUNE_BATCH = 500;
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** Validates an `Idempotency-Key` header value: 1..255 printable ASCII characters, sent once. */
export function checkIdempotencyKey(value: string | string[]): string {
  if (typeof value === 'string' && KEY_PATTERN.test(value) && value.trim() !== '') return value;
  throw new PlinthError('idempotency.invalid_key', 'Idempotency-Key must be one value of 1 to 255 printable ASCII characters');
}

/** Whose keys these are: one caller never sees another's. */
function scopeOf(actor: Actor | null, fingerprint: string): string {
  if (!actor) return `anon:${fingerprint}`;
  if (actor.kind === 'user') return `user:${actor.userId}`;
  if (actor.kind === 'api_key') return `api_key:${actor.keyId}`;
  return `system:${actor.name}`;
}

export function createIdempotencyService(kernel: KernelContext): IdempotencyService {
  const { config, clock, ids, logger } = kernel;
  const ttlMs = config.idempotency.ttlSeconds * 1000;
  const lockMs = config.idempotency.lockSeconds * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  // Outside a transaction (as `begin` is meant to be called) this is the pool, and every statement commits by itself.
  const db = () => kernel.db;
  const context = (row: Pick<KeyRow, 'scope' | 'key'>) => `idempotency:${row.scope}:${row.key}`;
  // Fixed texts: named prepared statements on PostgreSQL (parsed and planned once per connection).
  const fixed = <R>(name: string, text: string, values: unknown[]) =>
    db().executeQuery<R>(kernel.storage.preparedQuery?.(name, text, values) ?? CompiledQuery.raw(text, values));
  let nextPrune = 0;

  function lease(row: Pick<KeyRow, 'id' | 'scope' | 'key' | 'lease'>): IdempotencyLease {
    let settled = false;
    const once = () => {
      if (settled) throw new Error('An idempotency lease is settled once');
      settled = true;
    };
    return {
      async complete(response) {
        once();
        // Fixed text (every idempotent POST records its answer): no query building.
        const result = await fixed('plinth_idempotency_complete', completeSql[kernel.storage.dialect], [
          response.status,
          kernel.secrets.encrypt(JSON.stringify(response), context(row)),
          iso(clock.now() + ttlMs),
          row.id,
          row.lease,
        ]);
        return Number(result.numAffectedRows ?? 0) > 0;
      },
      async release() {
        once();
        await db().deleteFrom(IDEMPOTENCY_TABLE).where('id', '=', row.id).where('lease', '=', row.lease).execute();
      },
    };
  }

  /** The recorded answer, or `undefined` when it cannot be read any more (its encryption key was removed). */
  function recorded(row: KeyRow): RecordedResponse | undefined {
    try {
      return JSON.parse(kernel.secrets.decrypt(row.response!, context(row))) as RecordedResponse;
    } catch (error) {
      logger.warn({ err: (error as Error).message, id: row.id }, 'an idempotency record cannot be read; the key is taken over');
      return undefined;
    }
  }

  /** Whether the row was made for this request; `undefined` when its MAC key is gone (the row is then taken over). */
  function sameRequest(row: KeyRow, fingerprint: string, material: string): boolean | undefined {
    const keyId = macKeyId(row.fingerprint);
    if (keyId === macKeyId(fingerprint)) return row.fingerprint === fingerprint;
    try {
      return row.fingerprint === kernel.secrets.mac(material, MAC_CONTEXT, keyId);
    } catch {
      return undefined;
    }
  }

  function maybePrune(now: number): void {
    if (now < nextPrune) return;
    nextPrune = now + PRUNE_INTERVAL_MS;
    service.prune().then(
      (n) => n && logger.debug({ pruned: n }, 'expired idempotency keys deleted'),
      (error: Error) => logger.warn({ err: error.message }, 'pruning idempotency keys failed'),
    );
  }

  // `exclusive` and `beginInTransaction` identify the same request: the canonical JSON and the HMAC once.
  const identified = new WeakMap<IdempotentRequest, ReturnType<typeof computeIdentity>>();
  function identify(request: IdempotentRequest) {
    let identity = identified.get(request);
    if (!identity) identified.set(request, (identity = computeIdentity(request)));
    return identity;
  }

  function computeIdentity(request: IdempotentRequest) {
    const key = checkIdempotencyKey(request.key);
    const material = `${request.method.toUpperCase()} ${request.target}\n${request.body === undefined ? '' : canonicalJson(request.body)}`;
    const fingerprint = kernel.secrets.mac(material, MAC_CONTEXT);
    return { key, material, fingerprint, scope: scopeOf(request.actor, fingerprint) };
  }

  const inFlight = () => new PlinthError('idempotency.in_flight', 'A request with this Idempotency-Key is still running; retry later', { details: { retryAfter: 1 } });
  const running = new Set<string>();

  async function claim(request: IdempotentRequest, inTransaction = false): Promise<IdempotencyStart> {
    const { key, material, fingerprint, scope } = identify(request);
    // PostgreSQL, in a transaction: a transaction-level advisory lock on the key, held until the
    // transaction ends, so that a duplicate in another process is refused instead of waiting on
    // the key's unique index for this transaction to commit. Taken by the first claim statement.
    let lockFirst = inTransaction && kernel.storage.dialect === 'postgres';

    for (let attempt = 0; attempt < 5; attempt++) {
      const now = clock.now();
      const fresh = {
        fingerprint,
        lease: pooledRandomBytes(16).toString('base64url'),
        locked_until: iso(now + lockMs),
        status: null,
        response: null,
        created_at: iso(now),
        expires_at: iso(now + ttlMs),
      };
      const id = ids.next();
      const combined = lockFirst;
      if (combined) {
        lockFirst = false;
        // One round trip: the lock, then the insert only if the lock was had.
        const { rows } = await fixed<{ ok: boolean; inserted: boolean }>('plinth_idempotency_locked_claim', lockedClaimSql, [
          `${scope}\n${key}`, id, scope, key, fresh.fingerprint, fresh.lease, fresh.locked_until, fresh.created_at, fresh.expires_at,
        ]);
        if (!rows[0]?.ok) throw inFlight();
        if (rows[0].inserted) return { kind: 'run', lease: lease({ id, scope, key, lease: fresh.lease }) };
      }
      if (!combined) {
        const inserted = await fixed('plinth_idempotency_claim', claimSql[kernel.storage.dialect], [
          id, scope, key, fresh.fingerprint, fresh.lease, fresh.locked_until, fresh.created_at, fresh.expires_at,
        ]);
        if (Number(inserted.numAffectedRows ?? 0) > 0) return { kind: 'run', lease: lease({ id, scope, key, lease: fresh.lease }) };
      }

      const row = (await db().selectFrom(IDEMPOTENCY_TABLE).selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst()) as KeyRow | undefined;
      if (!row) continue; // released meanwhile: claim it again
      const expired = Date.parse(row.expires_at) <= now;
      const abandoned = row.status === null && row.locked_until !== null && Date.parse(row.locked_until) <= now;
      if (!expired && !abandoned) {
        const same = sameRequest(row, fingerprint, material);
        if (same === false) {
          throw new PlinthError('idempotency.key_reused', 'This Idempotency-Key was used for a different request; use a new key for a new request');
        }
        if (same === true && row.status === null) throw inFlight();
        const response = same === true ? recorded(row) : undefined;
        if (response) return { kind: 'replay', response };
      }
      // Expired, abandoned by a crashed holder, or unreadable: take the key over, unless another request just did.
      const taken = await db()
        .updateTable(IDEMPOTENCY_TABLE)
        .set(fresh)
        .where('id', '=', row.id)
        .where('lease', '=', row.lease)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) > 0) return { kind: 'run', lease: lease({ id: row.id, scope, key, lease: fresh.lease }) };
    }
    throw inFlight();
  }

  const service: IdempotencyService = {
    begin(request) {
      maybePrune(clock.now());
      return claim(request);
    },

    beginInTransaction: (request) => claim(request, true),

    async exclusive(request, fn) {
      const { scope, key } = identify(request);
      const mark = `${scope}\n${key}`;
      if (running.has(mark)) throw inFlight();
      running.add(mark);
      try {
        return await fn();
      } finally {
        running.delete(mark);
      }
    },

    pruneIfDue() {
      maybePrune(clock.now());
    },

    async prune(limit = PRUNE_BATCH) {
      const now = iso(clock.now());
      // The expiry is checked on the row deleted as well: on PostgreSQL a request may take over an
      // expired key (renewing its row) while this runs, and the re-check after waiting for its lock
      // sees only the row's own conditions, not the subquery's, which would delete the renewed claim.
      const result = await db()
        .deleteFrom(IDEMPOTENCY_TABLE)
        .where('expires_at', '<=', now)
        .where('id', 'in', db().selectFrom(IDEMPOTENCY_TABLE).select('id').where('expires_at', '<=', now).limit(limit))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
  return service;
}
