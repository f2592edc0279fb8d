import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type AnyModule,
  createLogger,
  createPlinth,
  loadConfig,
  parseDatabaseUrl,
  type Plinth,
  type PlinthConfig,
  type PlinthConfigInput,
} from '@plinth/core';
import type { Command } from 'commander';
import { isDebug } from './output.js';

/** Options every command accepts (declared once, on the program). */
export interface GlobalOptions {
  /** `--database-url`; overrides `PLINTH_DATABASE_URL`. */
  databaseUrl?: string;
  /** `--redis-url`; overrides `PLINTH_REDIS_URL`. */
  redisUrl?: string;
  /** `--json`: machine-readable output. */
  json: boolean;
}

/** What the program hands to each command. */
export interface CliContext {
  /** Application modules to load besides the kernel's; default none. */
  modules: readonly AnyModule[];
}

export function globalOptions(cmd: Command): GlobalOptions {
  const all = cmd.optsWithGlobals<{ databaseUrl?: string; redisUrl?: string; json?: boolean }>();
  return { databaseUrl: all.databaseUrl, redisUrl: all.redisUrl, json: all.json === true };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The configuration as the CLI sees it: flags over `PLINTH_*` variables,
 * validated once. Throws `config.invalid` naming the key.
 */
export function resolveConfig(globals: GlobalOptions, http: { host?: string; port?: number } = {}): Readonly<PlinthConfig> {
  const overrides: PlinthConfigInput = withoutUndefined({ databaseUrl: globals.databaseUrl, redisUrl: globals.redisUrl });
  const httpOverrides = withoutUndefined(http);
  if (Object.keys(httpOverrides).length) overrides.http = httpOverrides;
  return loadConfig(overrides, process.env);
}

/**
 * A Plinth instance for a command. Its JSON log goes to stdout for `serve`
 * (`log: 'stdout'`); other commands print results on stdout, so their log is
 * off, or on stderr with `PLINTH_DEBUG=1`.
 */
export function openPlinth(config: Readonly<PlinthConfig>, ctx: CliContext, log: 'stdout' | 'quiet' = 'quiet'): Plinth {
  const logger =
    log === 'stdout' ? undefined : createLogger({ level: isDebug() ? 'debug' : 'silent', destination: process.stderr });
  return createPlinth({ ...config, processEnv: false, modules: ctx.modules, ...(logger ? { logger } : {}) });
}

/** Rejects when `promise` has not settled after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Closes without waiting more than `ms` (a driver may hold a socket to an unreachable host). */
export async function closeWithin(resource: { close(): Promise<void> }, ms = 2000): Promise<void> {
  await withTimeout(resource.close(), ms, 'close').catch(() => undefined);
}

/** The absolute path of a SQLite database file that does not exist yet, else undefined. */
export function missingSqliteFile(databaseUrl: string): string | undefined {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.dialect !== 'sqlite' || target.memory) return undefined;
  const path = resolve(target.filename);
  return existsSync(path) ? undefined : path;
}
