/**
 * The one error type of Plinth. `code` is stable and meant for programs;
 * `message` is for humans; the HTTP status comes from one table.
 * This file imports nothing from Node drivers: the contract and the client use it.
 */

/** Every stable error code the kernel knows, with its HTTP status. Modules add their own. */
export const errorStatus = {
  'validation.failed': 422,
  'request.malformed_json': 400,
  'request.body_too_large': 413,
  'request.unsupported_media_type': 415,
  'request.bad_request': 400,
  'request.invalid_characters': 400,
  'route.not_found': 404,
  'route.method_not_allowed': 405,
  'resource.not_found': 404,
  'resource.version_conflict': 409,
  'request.invalid_precondition': 400,
  'idempotency.invalid_key': 400,
  'idempotency.in_flight': 409,
  'idempotency.key_reused': 422,
  'auth.unauthenticated': 401,
  'auth.forbidden': 403,
  'storage.conflict': 409,
  'storage.foreign_key': 409,
  'storage.not_null': 422,
  'storage.check_failed': 422,
  'storage.busy': 503,
  'storage.unavailable': 503,
  'config.invalid': 500,
  'migrations.failed': 500,
  'migrations.unknown': 500,
  'outbox.outside_transaction': 500,
  'outbox.unknown_event': 500,
  'outbox.invalid_event': 500,
  'modules.invalid': 500,
  'secrets.undecryptable': 500,
  'service.unavailable': 503,
  'rate_limit.exceeded': 429,
  'rate_limit.unavailable': 503,
  'internal': 500,
} as const satisfies Record<string, number>;

export type KernelErrorCode = keyof typeof errorStatus;
/** Module codes are namespaced strings such as `orders.insufficient_stock`. */
export type ErrorCode = KernelErrorCode | `${string}.${string}`;

export interface FieldError {
  /** Dotted path of the offending field, e.g. `items.0.quantity`. */
  path: string;
  message: string;
  code: string;
}

export interface PlinthErrorOptions {
  /** HTTP status; defaults to the table above, or 500 for unknown codes. */
  status?: number;
  /** Field-level errors (validation). */
  errors?: FieldError[];
  /** Extra problem members that are safe to show to the caller. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class PlinthError extends Error {
  override readonly name = 'PlinthError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: PlinthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? statusForCode(code);
    this.errors = options.errors;
    this.details = options.details;
  }

  /** True when the error is safe to show as-is (anything but a 5xx internal error). */
  get expose(): boolean {
    return this.status < 500 || this.code === 'service.unavailable' || this.code === 'rate_limit.unavailable' || this.code === 'storage.busy' || this.code === 'storage.unavailable';
  }
}

export function statusForCode(code: string): number {
  return (errorStatus as Record<string, number>)[code] ?? 500;
}

export function isPlinthError(value: unknown): value is PlinthError {
  return value instanceof PlinthError;
}
