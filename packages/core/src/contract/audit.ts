import { z } from 'zod';
import { defineRoute } from './route.js';

const time = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 time' });

export const auditEventSchema = z.object({
  id: z.string(),
  seq: z.number().int(),
  actorType: z.enum(['user', 'api_key', 'system', 'anonymous']),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  hash: z.string(),
});

export const auditVerificationSchema = z.union([
  z.object({ ok: z.literal(true), events: z.number().int(), headSeq: z.number().int(), headHash: z.string() }),
  z.object({
    ok: z.literal(false),
    events: z.number().int(),
    brokenAt: z.object({ seq: z.number().int(), id: z.string().nullable() }),
    reason: z.enum(['hash_mismatch', 'prev_hash_mismatch', 'sequence_gap', 'head_mismatch']),
    message: z.string(),
  }),
]);

export const auditRoutes = {
  listAudit: defineRoute({
    method: 'GET', path: '/v1/audit', operationId: 'listAudit', summary: 'The audit log, newest first.', tags: ['audit'], permission: 'audit:read',
    query: z.object({
      limit: z.coerce.number<number>().int().min(1).max(1000).default(100),
      cursor: z.string().regex(/^[1-9][0-9]{0,15}$/, 'must be a cursor from a previous page').optional(),
      action: z.string().max(100).optional(),
      actorId: z.string().max(64).optional(),
      targetId: z.string().max(64).optional(),
      since: time.optional(),
      until: time.optional(),
    }),
    response: z.object({ data: z.array(auditEventSchema), nextCursor: z.string().nullable() }),
  }),
  verifyAudit: defineRoute({
    method: 'GET', path: '/v1/audit/verify', operationId: 'verifyAudit', summary: "Walk the audit log's hash chain; report the first broken link.",
    tags: ['audit'], permission: 'audit:read', response: auditVerificationSchema,
  }),
};
