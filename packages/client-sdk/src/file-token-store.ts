import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseStoredTokens, type TokenStore } from './session.js';

/**
 * Tokens in a JSON file (a CLI or a script that stays signed in between runs).
 * Written with mode 0600 through a temporary file and a rename, so a crash never
 * leaves half a file; a missing or unreadable file is no session.
 */
export function fileTokenStore(path: string): TokenStore {
  if (typeof path !== 'string' || path === '') throw new TypeError('fileTokenStore: path must be a non-empty string');
  return {
    async get() {
      try {
        return parseStoredTokens(await readFile(path, 'utf8'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async set(tokens) {
      if (!tokens) {
        await rm(path, { force: true });
        return;
      }
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const temp = `${path}.${randomUUID()}.tmp`;
      await writeFile(temp, JSON.stringify(tokens), { mode: 0o600 });
      await rename(temp, path);
    },
  };
}
