import { randomFillSync, randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Version 00 has exactly four fields; a later version may append more, which are ignored.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** A caller's `X-Request-Id` when it is well-formed, else a new UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

// One `randomFillSync` per few hundred requests instead of a `randomBytes` call per id:
// each byte is handed out once, then the pool is refilled.
const pool = Buffer.alloc(8192);
let used = pool.length;

/** `bytes` fresh random bytes, hex-encoded. */
export function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

export interface TraceContext {
  traceId: string;
  /** This request's span id. */
  spanId: string;
  /** The caller's span id, when a valid `traceparent` came in. */
  parentId: string | undefined;
  flags: string;
  /** `traceparent` to send on calls made while serving this request. */
  traceparent: string;
}

/**
 * W3C Trace Context: continue the caller's trace when its `traceparent` is
 * valid (version 00, non-zero ids), otherwise start a new one.
 */
export function traceFrom(header: string | string[] | undefined): TraceContext {
  const m = typeof header === 'string' ? TRACEPARENT.exec(header.trim()) : null;
  if (m && m[1] !== 'ff' && !(m[1] === '00' && m[5]) && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!)) {
    const [, , traceId, parentId, flags] = m as unknown as [string, string, string, string, string];
    const spanId = randomHex(8);
    return { traceId, spanId, parentId, flags, traceparent: `00-${traceId}-${spanId}-${flags}` };
  }
  const ids = randomHex(24); // a new trace id (16 bytes) and span id (8 bytes) in one draw
  const traceId = ids.slice(0, 32);
  const spanId = ids.slice(32);
  return { traceId, spanId, parentId: undefined, flags: '01', traceparent: `00-${traceId}-${spanId}-01` };
}
