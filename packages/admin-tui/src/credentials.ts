/**
 * Where `plinth login` keeps the session for each server: one JSON file in the
 * user's config folder, readable by the user alone (mode 0600, folder 0700).
 * It holds tokens, never a password.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StoredTokens, TokenStore } from '@plinth/client';

export interface SavedServer extends StoredTokens {
  email: string;
}

interface CredentialsFile {
  servers: Record<string, SavedServer>;
}

/** `$PLINTH_CONFIG_DIR/credentials.json`, else `$XDG_CONFIG_HOME/plinth/…`, else `~/.config/plinth/…`. */
export function credentialsPath(env: Record<string, string | undefined> = process.env): string {
  const dir = env.PLINTH_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'plinth');
  return join(dir, 'credentials.json');
}

function read(path: string): CredentialsFile {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CredentialsFile>;
    return { servers: parsed && typeof parsed.servers === 'object' && parsed.servers ? parsed.servers : {} };
  } catch {
    return { servers: {} };
  }
}

function write(path: string, file: CredentialsFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** The saved session of a server (by normalized base URL), if any. */
export function savedServer(url: string, path = credentialsPath()): SavedServer | undefined {
  return read(path).servers[url];
}

/** The server saved most recently... or the only one: what `plinth admin` uses without `--url`. */
export function savedServers(path = credentialsPath()): Record<string, SavedServer> {
  return read(path).servers;
}

/** Forgets a server's session; answers whether there was one. */
export function forgetServer(url: string, path = credentialsPath()): boolean {
  const file = read(path);
  if (!file.servers[url]) return false;
  delete file.servers[url];
  if (Object.keys(file.servers).length === 0) rmSync(path, { force: true });
  else write(path, file);
  return true;
}

/**
 * A token store backed by the credentials file: the client's refreshes and
 * sign-ins are saved there as they happen, so the next `plinth admin` stays
 * signed in. `email` is remembered for the sign-in prompt.
 */
export function fileTokenStore(url: string, options: { path?: string; email?: () => string | undefined } = {}): TokenStore {
  const path = options.path ?? credentialsPath();
  return {
    get: () => {
      const saved = read(path).servers[url];
      return saved ? { accessToken: saved.accessToken, refreshToken: saved.refreshToken, expiresAt: saved.expiresAt } : null;
    },
    set: (tokens) => {
      const file = read(path);
      if (!tokens) delete file.servers[url];
      else file.servers[url] = { ...tokens, email: options.email?.() ?? file.servers[url]?.email ?? '' };
      if (Object.keys(file.servers).length === 0) rmSync(path, { force: true });
      else write(path, file);
    },
  };
}
