import { describe, expect, it } from 'vitest';
import { PlinthError, parseDatabaseUrl, redactUrl } from '../index.js';

describe('parseDatabaseUrl', () => {
  it.each([
    ['sqlite:./data/app.db', './data/app.db'],
    ['sqlite:app.db', 'app.db'],
    ['sqlite:///var/lib/plinth/app.db', '/var/lib/plinth/app.db'],
    ['sqlite://relative/app.db', 'relative/app.db'],
    ['SQLITE:./Upper.db', './Upper.db'],
    ['file:./app.db', './app.db'],
    ['file:///tmp/plinth/app.db', '/tmp/plinth/app.db'],
    ['sqlite:./my%20data/app.db?mode=rwc', './my data/app.db'],
    ['./app.db', './app.db'],
    ['/srv/app.db', '/srv/app.db'],
    ['  ./padded.db  ', './padded.db'],
  ])('reads %s as the SQLite file %s', (url, filename) => {
    expect(parseDatabaseUrl(url)).toEqual({ dialect: 'sqlite', filename, memory: false });
  });

  it.each([':memory:', 'sqlite::memory:', 'file::memory:'])('reads %s as an in-memory SQLite database', (url) => {
    expect(parseDatabaseUrl(url)).toEqual({ dialect: 'sqlite', filename: ':memory:', memory: true });
  });

  it.each(['postgres://app:pw@db.internal:5432/app', 'postgresql://app@localhost/app?sslmode=disable', 'POSTGRES://x@h/db'])(
    'reads %s as PostgreSQL, passing the URL through',
    (url) => {
      expect(parseDatabaseUrl(url)).toEqual({ dialect: 'postgres', connectionString: url });
    },
  );

  it('rejects an unsupported scheme without echoing its password', () => {
    let error: unknown;
    try {
      parseDatabaseUrl('mysql://root:hunter2@db/app');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlinthError);
    expect(error).toMatchObject({ code: 'config.invalid' });
    expect((error as Error).message).toContain('mysql://root:***@db/app');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('rejects an empty SQLite path', () => {
    expect(() => parseDatabaseUrl('sqlite:')).toThrow(expect.objectContaining({ code: 'config.invalid' }));
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/app')).toBe('postgres://app:***@db:5432/app');
    expect(redactUrl('redis://:s3cret@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(redactUrl('postgres://app@db/app')).toBe('postgres://app@db/app');
    expect(redactUrl('sqlite:./app.db')).toBe('sqlite:./app.db');
  });
});
