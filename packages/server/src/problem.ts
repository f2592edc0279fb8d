import { isPlinthError, PlinthError, PROBLEM_CONTENT_TYPE, problemType, type Problem } from '@plinth/core/contract';

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * Turns any thrown value into RFC 9457 problem details. Internal errors keep
 * their message, stack and SQL in the log: the caller sees a generic problem.
 */
export function toProblem(error: unknown, requestId: string, instance: string): Problem {
  const known = isPlinthError(error) ? error : undefined;
  const safe = known && known.expose ? known : new PlinthError('internal', 'An internal error occurred; the request id identifies it in the logs');
  const problem: Problem = {
    type: problemType(safe.code),
    title: titles[safe.status] ?? 'Error',
    status: safe.status,
    detail: safe.message,
    ...(instance ? { instance } : {}),
    code: safe.code,
    requestId,
  };
  if (safe.errors) problem.errors = safe.errors;
  if (safe.details) {
    for (const [key, value] of Object.entries(safe.details)) if (!(key in problem)) problem[key] = value;
  }
  return problem;
}

export { PROBLEM_CONTENT_TYPE };
