import { type ErrorCode, type FieldError, type Problem, problemSchema } from '@plinth/core/contract';

/**
 * Codes the client makes up itself, when there is no problem from the server:
 * the server could not be reached (`status` 0) or it answered something that is
 * not a problem document (`http.<status>`).
 */
export type ClientErrorCode = 'network.error' | 'network.timeout' | 'network.aborted' | 'response.malformed' | `http.${number}`;

/**
 * What every failed call rejects with: the server's problem (RFC 9457) or one
 * the client made for a network failure. `code` is for programs, `message`
 * for humans.
 */
export class PlinthApiError extends Error {
  override readonly name = 'PlinthApiError';
  /** HTTP status of the answer; 0 when there was no answer (network failure, timeout, abort). */
  readonly status: number;
  /** Stable machine code, e.g. `validation.failed`, `route.not_found`, `network.timeout`. */
  readonly code: ErrorCode | ClientErrorCode;
  /** The server's request id (problem member or `x-request-id` header), for its logs. */
  readonly requestId: string | undefined;
  /** Field errors of a `validation.failed` problem; empty otherwise. */
  readonly errors: readonly FieldError[];
  /** Human explanation from the server (the problem's `detail`). */
  readonly detail: string | undefined;
  /** The whole problem document, extra members included. */
  readonly problem: Problem;

  constructor(problem: Problem, options: { status?: number; cause?: unknown } = {}) {
    super(problem.detail ?? problem.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status ?? problem.status;
    this.code = problem.code as ErrorCode | ClientErrorCode;
    this.requestId = problem.requestId;
    this.errors = problem.errors ?? [];
    this.detail = problem.detail;
    this.problem = problem;
  }
}

/** True for errors thrown by this client (also across duplicate copies of the package). */
export function isPlinthApiError(value: unknown): value is PlinthApiError {
  return value instanceof PlinthApiError || (value instanceof Error && value.name === 'PlinthApiError' && 'problem' in value);
}

interface HeadersLike {
  get(name: string): string | null;
}

/** The error for a non-2xx answer: its problem document, or a `http.<status>` stand-in when the body is not one. */
export function errorFromResponse(status: number, statusText: string, headers: HeadersLike, text: string): PlinthApiError {
  const headerRequestId = headers.get('x-request-id') ?? undefined;
  const json = parseJson(text);
  const parsed = problemSchema.safeParse(json);
  if (parsed.success) {
    const problem = parsed.data;
    if (problem.requestId === undefined && headerRequestId !== undefined) problem.requestId = headerRequestId;
    return new PlinthApiError(problem, { status });
  }
  const problem: Problem = {
    type: 'about:blank',
    title: statusText || `HTTP ${status}`,
    status,
    code: `http.${status}`,
    detail: looseDetail(json, text, headers.get('content-type')) ?? `The server answered ${status}${statusText ? ` ${statusText}` : ''}`,
  };
  if (headerRequestId !== undefined) problem.requestId = headerRequestId;
  // Keep a JSON body that is not a problem, so callers can still read it.
  if (json !== undefined) problem.body = json;
  return new PlinthApiError(problem, { status });
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A readable line from a body that is not a problem: a JSON `message`/`error`, or short plain text (never HTML). */
function looseDetail(json: unknown, text: string, contentType: string | null): string | undefined {
  if (json && typeof json === 'object') {
    const record = json as Record<string, unknown>;
    for (const key of ['detail', 'message', 'error']) {
      if (typeof record[key] === 'string' && record[key]) return record[key];
    }
    return undefined;
  }
  if (contentType?.startsWith('text/plain') && text.trim()) return text.trim().slice(0, 200);
  return undefined;
}

const networkReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** The error for a request that got no answer. */
export function networkError(
  kind: 'error' | 'timeout' | 'aborted',
  origin: string,
  cause: unknown,
  requestId: string | undefined,
  timeoutMs: number,
): PlinthApiError {
  const detail =
    kind === 'timeout'
      ? `No answer from ${origin} within ${timeoutMs} ms`
      : kind === 'aborted'
        ? `The request to ${origin} was aborted`
        : `Could not reach ${origin} (${networkReason(cause)})`;
  const problem: Problem = {
    type: 'about:blank',
    title: kind === 'timeout' ? 'Timeout' : kind === 'aborted' ? 'Aborted' : 'Network error',
    status: 0,
    code: `network.${kind}`,
    detail,
  };
  if (requestId !== undefined) problem.requestId = requestId;
  return new PlinthApiError(problem, { status: 0, cause });
}

/** The most telling part of a fetch failure: a known socket error code, else the innermost message. */
function networkReason(error: unknown): string {
  // undici: TypeError('fetch failed', { cause: Error & { code: 'ECONNREFUSED' } }); browsers: TypeError('Failed to fetch').
  let message = error instanceof Error ? error.message : String(error);
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in networkReasons) return networkReasons[code]!;
    if (e instanceof Error && e.message) message = e.message;
  }
  return message;
}
