import { describe, expect, it } from 'vitest';
import { errorStatus, isPlinthError, PlinthError, statusForCode } from './index.js';

describe('PlinthError', () => {
  it.each([
    ['validation.failed', 422],
    ['request.malformed_json', 400],
    ['request.body_too_large', 413],
    ['request.unsupported_media_type', 415],
    ['route.not_found', 404],
    ['route.method_not_allowed', 405],
    ['resource.not_found', 404],
    ['storage.conflict', 409],
    ['storage.foreign_key', 409],
    ['storage.not_null', 422],
    ['storage.check_failed', 422],
    ['storage.busy', 503],
    ['storage.unavailable', 503],
    ['config.invalid', 500],
    ['migrations.failed', 500],
    ['migrations.unknown', 500],
    ['outbox.outside_transaction', 500],
    ['modules.invalid', 500],
    ['service.unavailable', 503],
    ['internal', 500],
  ] as const)('gives %s the status %i', (code, status) => {
    expect(errorStatus[code]).toBe(status);
    expect(statusForCode(code)).toBe(status);
    expect(new PlinthError(code, 'x').status).toBe(status);
  });

  it('gives a status to every kernel code', () => {
    for (const [code, status] of Object.entries(errorStatus)) {
      expect(code).toMatch(/^[a-z_]+(\.[a-z_]+)?$/);
      expect(status >= 400 && status < 600, code).toBe(true);
    }
  });

  it('defaults module codes to 500 unless a status is given', () => {
    expect(new PlinthError('orders.insufficient_stock', 'Not enough stock').status).toBe(500);
    expect(statusForCode('orders.insufficient_stock')).toBe(500);
    expect(new PlinthError('orders.insufficient_stock', 'Not enough stock', { status: 409 }).status).toBe(409);
  });

  it('carries code, message, field errors, details and cause', () => {
    const cause = new Error('driver said no');
    const error = new PlinthError('validation.failed', 'Invalid input', {
      errors: [{ path: 'items.0.quantity', message: 'must be positive', code: 'too_small' }],
      details: { hint: 'check the quantities' },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PlinthError');
    expect(error.message).toBe('Invalid input');
    expect(error.code).toBe('validation.failed');
    expect(error.errors).toEqual([{ path: 'items.0.quantity', message: 'must be positive', code: 'too_small' }]);
    expect(error.details).toEqual({ hint: 'check the quantities' });
    expect(error.cause).toBe(cause);
    expect(isPlinthError(error)).toBe(true);
    expect(isPlinthError(cause)).toBe(false);
    expect(isPlinthError({ code: 'validation.failed', status: 422 })).toBe(false);
  });

  it('exposes client errors and availability errors, but not internal ones', () => {
    expect(new PlinthError('storage.conflict', 'x').expose).toBe(true);
    expect(new PlinthError('validation.failed', 'x').expose).toBe(true);
    expect(new PlinthError('service.unavailable', 'x').expose).toBe(true);
    expect(new PlinthError('storage.busy', 'x').expose).toBe(true);
    expect(new PlinthError('storage.unavailable', 'x').expose).toBe(true);
    expect(new PlinthError('internal', 'x').expose).toBe(false);
    expect(new PlinthError('config.invalid', 'x').expose).toBe(false);
    expect(new PlinthError('orders.provider_down', 'x', { status: 502 }).expose).toBe(false);
  });
});
