import { PlinthError } from '../errors.js';

export type DatabaseTarget =
  | { dialect: 'sqlite'; filename: string; memory: boolean }
  | { dialect: 'postgres'; connectionString: string };

/**
 * Chooses the dialect from the URL scheme: `postgres://` / `postgresql://` is
 * PostgreSQL; `sqlite:path`, `sqlite://path`, `file:path`, `:memory:` or a
 * bare path is SQLite.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const value = url.trim();
  if (/^postgres(ql)?:\/\//i.test(value)) return { dialect: 'postgres', connectionString: value };
  let path = value;
  const scheme = /^(sqlite|file):/i.exec(value);
  if (scheme) {
    path = value.slice(scheme[0].length);
    // sqlite:///abs/path and sqlite://rel/path: drop the authority slashes.
    if (path.startsWith('//')) path = path.slice(2);
    const query = path.indexOf('?');
    if (query >= 0) path = path.slice(0, query);
    path = decodeURIComponent(path);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new PlinthError('config.invalid', `Unsupported database URL scheme in "${redactUrl(value)}"`);
  }
  if (path === '' ) throw new PlinthError('config.invalid', 'The SQLite database path is empty');
  const memory = path === ':memory:';
  return { dialect: 'sqlite', filename: path, memory };
}

/** The URL with any password replaced, safe to log or print. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/?#@]*:)[^@/?#]*@/, '$1***@');
}
