import type { Kysely } from 'kysely';
import type { Actor } from '../../auth.js';
import { defineModule, type KernelContext } from '../../module.js';
import { PlinthError } from '../../errors.js';
import { compileOnce } from '../../storage/compile-once.js';
import { type ChainedFields, chainHash, GENESIS_HASH } from './chain.js';
import { AUDIT_HEAD_TABLE, auditMigrations, AUDIT_TABLE } from './migrations.js';
import { auditRouteImplementations } from './routes.js';

/** Where a security-relevant change came from. */
export interface AuditContext {
  actor: Actor | null;
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
}

export interface AuditEventInput {
  /** Dotted verb: `auth.sign_in.failed`, `access.role.assigned`, ... */
  action: string;
  target?: { type: string; id: string } | undefined;
  /** Extra facts. Never put secrets here: it is shown to admins and exported. */
  data?: Record<string, unknown> | undefined;
}

export interface AuditEvent {
  id: string;
  /** Position in the hash chain: 1, 2, 3, ... with no gaps. */
  seq: number;
  actorType: 'user' | 'api_key' | 'system' | 'anonymous';
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  data: Record<string, unknown>;
  createdAt: string;
  /** SHA-256 of the previous event's hash and this event's fields. */
  hash: string;
}

export interface AuditQuery {
  /** Page size, 1..1000; default 100. */
  limit?: number | undefined;
  action?: string | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  /** Events at or after this time (RFC 3339). */
  since?: string | undefined;
  /** Events before this time (RFC 3339). */
  until?: string | undefined;
  /** `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

/** What `verify` found: `ok`, or the first broken link. */
export type AuditVerification =
  | { ok: true; events: number; headSeq: number; headHash: string }
  | {
      ok: false;
      events: number;
      /** The first event whose link does not hold (or the head, when events were cut off the end). */
      brokenAt: { seq: number; id: string | null };
      reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' | 'head_mismatch';
      message: string;
    };

export interface AuditService {
  /**
   * Appends an event to the hash chain with `kernel.db`, inside the caller's
   * transaction when there is one (else in its own). The chain's head row is
   * locked until that transaction ends, so appends are serialized.
   */
  record(context: AuditContext, event: AuditEventInput): Promise<AuditEvent>;
  /** Newest first, at most `limit` (no paging). */
  list(options?: AuditQuery): Promise<AuditEvent[]>;
  /** Newest first, a page at a time. */
  page(options?: AuditQuery): Promise<{ data: AuditEvent[]; nextCursor: string | null }>;
  /** Oldest first, in chain order, from `since`: for exports. */
  stream(options?: { since?: string | undefined; until?: string | undefined; batchSize?: number }): AsyncGenerator<AuditEvent>;
  /** Walks the whole chain and reports the first broken link. */
  verify(options?: { batchSize?: number }): Promise<AuditVerification>;
}

function actorOf(actor: Actor | null): Pick<AuditEvent, 'actorType' | 'actorId'> {
  if (!actor) return { actorType: 'anonymous', actorId: null };
  if (actor.kind === 'user') return { actorType: 'user', actorId: actor.userId };
  if (actor.kind === 'api_key') return { actorType: 'api_key', actorId: actor.keyId };
  return { actorType: 'system', actorId: actor.name };
}

export function createAuditService(kernel: KernelContext): AuditService {
  const db = (): Kysely<any> => kernel.db;
  const toEvent = (r: any): AuditEvent => ({
    id: r.id,
    seq: Number(r.seq),
    actorType: r.actor_type,
    actorId: r.actor_id,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    userAgent: r.user_agent,
    requestId: r.request_id,
    data: kernel.storage.fromJson(r.data),
    createdAt: r.created_at,
    hash: r.hash,
  });

  function query(options: AuditQuery) {
    let q = db().selectFrom(AUDIT_TABLE).selectAll();
    if (options.action) q = q.where('action', '=', options.action);
    if (options.actorId) q = q.where('actor_id', '=', options.actorId);
    if (options.targetId) q = q.where('target_id', '=', options.targetId);
    if (options.since) q = q.where('created_at', '>=', isoTime(options.since, 'since'));
    if (options.until) q = q.where('created_at', '<', isoTime(options.until, 'until'));
    return q;
  }

  // The three statements of every append, compiled once (an append comes with every sign-in).
  const readHead = compileOnce([], () => kernel.storage.forUpdate(kernel.storage.db.selectFrom(AUDIT_HEAD_TABLE).select(['seq', 'hash']).where('id', '=', 1)));
  const insertEvent = compileOnce(
    ['id', 'seq', 'actorType', 'actorId', 'action', 'targetType', 'targetId', 'ip', 'userAgent', 'requestId', 'data', 'createdAt', 'prevHash', 'hash'],
    (v) =>
      kernel.storage.db.insertInto(AUDIT_TABLE).values({
        id: v.id,
        seq: v.seq,
        actor_type: v.actorType,
        actor_id: v.actorId,
        action: v.action,
        target_type: v.targetType,
        target_id: v.targetId,
        ip: v.ip,
        user_agent: v.userAgent,
        request_id: v.requestId,
        data: v.data,
        created_at: v.createdAt,
        prev_hash: v.prevHash,
        hash: v.hash,
      }),
  );
  const moveHead = compileOnce(['seq', 'hash'], (v) => kernel.storage.db.updateTable(AUDIT_HEAD_TABLE).set({ seq: v.seq, hash: v.hash }).where('id', '=', 1));

  const limitOf = (limit: number | undefined) => Math.min(Math.max(Math.trunc(limit ?? 100) || 100, 1), 1000);

  return {
    async record(context, event) {
      return kernel.transaction(async () => {
        const head = (await readHead.run<{ seq: number | string; hash: string }>(db(), {})).rows[0];
        if (!head) throw new Error('The audit chain has no head row');
        const fields: ChainedFields = {
          seq: Number(head.seq) + 1,
          id: kernel.ids.next(),
          ...actorOf(context.actor),
          action: event.action,
          targetType: event.target?.type ?? null,
          targetId: event.target?.id ?? null,
          ip: context.ip ?? null,
          userAgent: context.userAgent?.slice(0, 512) ?? null,
          requestId: context.requestId ?? null,
          // Stored and hashed as JSON: what is read back is what was hashed.
          data: JSON.parse(JSON.stringify(event.data ?? {})),
          createdAt: new Date(kernel.clock.now()).toISOString(),
        };
        const hash = chainHash(head.hash, fields);
        await insertEvent.run(db(), { ...fields, data: kernel.storage.toJson(fields.data), prevHash: head.hash, hash });
        await moveHead.run(db(), { seq: fields.seq, hash });
        return { ...(fields as Omit<AuditEvent, 'hash'>), hash };
      });
    },

    async list(options = {}) {
      const rows = await query(options).orderBy('seq', 'desc').limit(limitOf(options.limit)).execute();
      return rows.map(toEvent);
    },

    async page(options = {}) {
      const limit = limitOf(options.limit);
      let q = query(options);
      if (options.cursor !== undefined) {
        const before = Number(options.cursor);
        if (!Number.isSafeInteger(before) || before < 1) throw new PlinthError('validation.failed', 'The cursor is not valid');
        q = q.where('seq', '<', before);
      }
      const rows = await q.orderBy('seq', 'desc').limit(limit + 1).execute();
      const data = rows.slice(0, limit).map(toEvent);
      return { data, nextCursor: rows.length > limit ? String(data[data.length - 1]!.seq) : null };
    },

    async *stream(options = {}) {
      const batch = Math.max(1, options.batchSize ?? 500);
      let after = 0;
      for (;;) {
        const rows = await query(options).where('seq', '>', after).orderBy('seq').limit(batch).execute();
        for (const row of rows) yield toEvent(row);
        if (rows.length < batch) return;
        after = Number(rows[rows.length - 1]!.seq);
      }
    },

    async verify(options = {}) {
      const batch = Math.max(1, options.batchSize ?? 1000);
      let prev = GENESIS_HASH;
      let expected = 1;
      let events = 0;
      for (;;) {
        const rows = await db().selectFrom(AUDIT_TABLE).selectAll().where('seq', '>=', expected).orderBy('seq').limit(batch).execute();
        for (const row of rows as any[]) {
          const event = toEvent(row);
          const at = { seq: event.seq, id: event.id };
          if (event.seq !== expected) {
            return broken(events, { seq: expected, id: null }, 'sequence_gap', `Event #${expected} is missing (the next one is #${event.seq})`);
          }
          if (row.prev_hash !== prev) {
            return broken(events, at, 'prev_hash_mismatch', `Event #${event.seq} (${event.id}) does not link to the event before it`);
          }
          if (chainHash(prev, event) !== event.hash) {
            return broken(events, at, 'hash_mismatch', `Event #${event.seq} (${event.id}) was changed after it was written`);
          }
          prev = event.hash;
          expected++;
          events++;
        }
        if (rows.length < batch) break;
      }
      const head = (await db().selectFrom(AUDIT_HEAD_TABLE).select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst()) as
        | { seq: number | string; hash: string }
        | undefined;
      if (!head || Number(head.seq) !== events || head.hash !== prev) {
        return broken(events, { seq: events + 1, id: null }, 'head_mismatch', `The chain ends at #${events} but its head says #${head ? Number(head.seq) : '?'}: events were removed from the end`);
      }
      return { ok: true, events, headSeq: events, headHash: prev };
    },
  };
}

function broken(
  events: number,
  brokenAt: { seq: number; id: string | null },
  reason: Extract<AuditVerification, { ok: false }>['reason'],
  message: string,
): AuditVerification {
  return { ok: false, events, brokenAt, reason, message };
}

function isoTime(value: string, name: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new PlinthError('validation.failed', `${name} must be an RFC 3339 time`);
  return new Date(ms).toISOString();
}

/** Append-only, hash-chained audit events: `record` in the caller's transaction, `verify` walks the chain. */
export const auditModule = defineModule({
  name: 'audit',
  migrations: auditMigrations,
  permissions: {
    'audit:read': { description: 'Read the audit log and verify its hash chain' },
  },
  services: createAuditService,
  routes: auditRouteImplementations,
});
