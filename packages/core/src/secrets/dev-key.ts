import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generateEncryptionKey } from './secret-box.js';
import { parseDatabaseUrl } from '../storage/url.js';

/**
 * Development only: without configured keys, Plinth keeps a generated key in
 * `encryption.key` beside the SQLite file (or in `./.plinth/`), mode 0600.
 * Production refuses to start without `encryptionKeys`.
 */
export function developmentKey(databaseUrl: string): { entry: string; path: string; created: boolean } {
  const target = parseDatabaseUrl(databaseUrl);
  const dir = target.dialect === 'sqlite' && !target.memory ? dirname(resolve(target.filename)) : resolve('.plinth');
  const path = join(dir, 'encryption.key');
  if (existsSync(path)) return { entry: readFileSync(path, 'utf8').trim(), path, created: false };
  mkdirSync(dir, { recursive: true });
  const entry = generateEncryptionKey('dev');
  try {
    writeFileSync(path, `${entry}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { entry: readFileSync(path, 'utf8').trim(), path, created: false };
    throw error;
  }
  chmodSync(path, 0o600);
  return { entry, path, created: true };
}
