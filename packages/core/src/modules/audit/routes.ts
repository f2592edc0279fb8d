import { auditRoutes } from '../../contract/audit.js';
import { implement } from '../../module.js';
import type { AuditService } from './index.js';

/** `GET /v1/audit`, `GET /v1/audit/verify` (permission `audit:read`, checked by the server before the handler). */
export const auditRouteImplementations = [
  implement(auditRoutes.listAudit, (ctx) => ctx.kernel.service<AuditService>('audit').page(ctx.query)),
  implement(auditRoutes.verifyAudit, (ctx) => ctx.kernel.service<AuditService>('audit').verify()),
];
