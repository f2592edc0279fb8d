import type { IncomingHttpHeaders } from 'node:http';
import { PlinthError } from '../../errors.js';

/**
 * The version a write expects, from the body's `version` or an `If-Match`
 * header (`"3"`, `W/"3"` or `3`); both must agree when both are sent.
 * `undefined` when neither is sent.
 */
export function expectedVersion(bodyVersion: number | undefined, headers: IncomingHttpHeaders): number | undefined {
  const raw = headers['if-match'];
  if (raw === undefined || raw === '*') return bodyVersion;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(raw);
  if (!match) {
    throw new PlinthError('validation.failed', 'If-Match must be the version you read, e.g. "3"', {
      errors: [{ path: 'headers.if-match', message: 'must be a version number', code: 'invalid_format' }],
    });
  }
  const version = Number(match[1]);
  if (bodyVersion !== undefined && bodyVersion !== version) {
    throw new PlinthError('validation.failed', 'The body version and If-Match disagree', {
      errors: [{ path: 'body.version', message: 'differs from If-Match', code: 'custom' }],
    });
  }
  return version;
}
