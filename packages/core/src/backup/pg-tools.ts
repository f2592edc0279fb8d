import { execFileSync } from 'node:child_process';

/** libpq environment variables for a `postgres://` URL, so no password shows in a process list. */
export function pgConnectionEnv(connectionString: string): Record<string, string> {
  const url = new URL(connectionString);
  const env: Record<string, string> = {};
  if (url.hostname) env.PGHOST = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, ''));
  if (url.port) env.PGPORT = url.port;
  if (url.username) env.PGUSER = decodeURIComponent(url.username);
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database) env.PGDATABASE = database;
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

const majors = new Map<string, number | undefined>();

/** The major version of `pg_dump` / `pg_restore` on the PATH, or undefined when it is not installed. */
export function pgToolMajor(tool: 'pg_dump' | 'pg_restore'): number | undefined {
  if (!majors.has(tool)) {
    try {
      const out = execFileSync(tool, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      const match = /(\d+)(\.\d+)?/.exec(out);
      majors.set(tool, match ? Number(match[1]) : undefined);
    } catch {
      majors.set(tool, undefined);
    }
  }
  return majors.get(tool);
}
