import type { Kysely } from 'kysely';
import type { Actor } from '../../auth.js';
import { defineModule, type KernelContext } from '../../module.js';
import { auditMigrations, AUDIT_TABLE } from './migrations.js';

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
}

export interface AuditService {
  /** Appends an event with `kernel.db`, i.e. inside the caller's transaction when there is one. */
  record(context: AuditContext, event: AuditEventInput): Promise<AuditEvent>;
  list(options?: { limit?: number; action?: string; actorId?: string; targetId?: string }): Promise<AuditEvent[]>;
}

function actorOf(actor: Actor | null): Pick<AuditEvent, 'actorType' | 'actorId'> {
  if (!actor) return { actorType: 'anonymous', actorId: null };
  if (actor.kind === 'user') return { actorType: 'user', actorId: actor.userId };
  if (actor.kind === 'api_key') return { actorType: 'api_key', actorId: actor.keyId };
  return { actorType: 'system', actorId: actor.name };
}

export function createAuditService(kernel: KernelContext): AuditService {
  const db = (): Kysely<any> => kernel.db;
  return {
    async record(context, event) {
      const row: AuditEvent = {
        id: kernel.ids.next(),
        ...actorOf(context.actor),
        action: event.action,
        targetType: event.target?.type ?? null,
        targetId: event.target?.id ?? null,
        ip: context.ip ?? null,
        userAgent: context.userAgent?.slice(0, 512) ?? null,
        requestId: context.requestId ?? null,
        data: event.data ?? {},
        createdAt: new Date(kernel.clock.now()).toISOString(),
      };
      await db()
        .insertInto(AUDIT_TABLE)
        .values({
          id: row.id,
          actor_type: row.actorType,
          actor_id: row.actorId,
          action: row.action,
          target_type: row.targetType,
          target_id: row.targetId,
          ip: row.ip,
          user_agent: row.userAgent,
          request_id: row.requestId,
          data: kernel.storage.toJson(row.data),
          created_at: row.createdAt,
        })
        .execute();
      return row;
    },
    async list(options = {}) {
      let q = db().selectFrom(AUDIT_TABLE).selectAll().orderBy('id', 'desc').limit(Math.min(Math.max(options.limit ?? 100, 1), 1000));
      if (options.action) q = q.where('action', '=', options.action);
      if (options.actorId) q = q.where('actor_id', '=', options.actorId);
      if (options.targetId) q = q.where('target_id', '=', options.targetId);
      const rows = await q.execute();
      return rows.map((r: any) => ({
        id: r.id,
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
      }));
    },
  };
}

/** Append-only audit events (the hash chain and verification come with the operations work). */
export const auditModule = defineModule({
  name: 'audit',
  migrations: auditMigrations,
  services: createAuditService,
});
