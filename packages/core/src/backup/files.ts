import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PlinthError } from '../errors.js';
import type { BackupFile } from './manifest.js';
import type { BackupStore } from './store.js';

/** A pass-through stream that counts and hashes (SHA-256) what flows through it. */
export function hashingTap(): { stream: Transform; bytes(): number; sha256(): string } {
  const hash = createHash('sha256');
  let bytes = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, bytes: () => bytes, sha256: () => (digest ??= hash.digest('hex')) };
}

/** Throws `backup.corrupt`, naming the file, when its size or checksum differ from the manifest. */
export function checkFile(backup: string, file: BackupFile, bytes: number, sha256: string): void {
  if (bytes !== file.bytes || sha256 !== file.sha256) {
    const what = bytes !== file.bytes ? `has ${bytes} bytes, the manifest says ${file.bytes}` : 'does not match its SHA-256 checksum';
    throw new PlinthError('backup.corrupt', `${backup}/${file.path} ${what}: the backup is damaged`, { details: { file: `${backup}/${file.path}` } });
  }
}

/** Reads a stored file to the end and checks it against the manifest. */
export async function verifyFile(store: BackupStore, backup: string, file: BackupFile): Promise<void> {
  const tap = hashingTap();
  let input: Readable;
  try {
    input = await store.get(`${backup}/${file.path}`);
  } catch (error) {
    if (error instanceof PlinthError && error.code === 'backup.not_found') {
      throw new PlinthError('backup.corrupt', `${backup}/${file.path} is missing: the backup is incomplete`, { details: { file: `${backup}/${file.path}` } });
    }
    throw error;
  }
  tap.stream.resume();
  await pipeline(input, tap.stream);
  checkFile(backup, file, tap.bytes(), tap.sha256());
}
