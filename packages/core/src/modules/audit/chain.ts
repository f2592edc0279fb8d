import { createHash } from 'node:crypto';
import { canonicalJson } from '../../canonical-json.js';

/** `prev_hash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an audit event that its hash covers (everything but the hash itself). */
export interface ChainedFields {
  seq: number;
  id: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  data: unknown;
  createdAt: string;
}

/** SHA-256 (hex) of the previous event's hash and this event's fields: change either and every later link breaks. */
export function chainHash(prevHash: string, event: ChainedFields): string {
  const fields = [
    event.seq, event.id, event.actorType, event.actorId, event.action, event.targetType, event.targetId,
    event.ip, event.userAgent, event.requestId, event.data, event.createdAt,
  ];
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(fields)).digest('hex');
}
