import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PlinthError } from '../errors.js';

/** A stored file: `name` is a `/`-separated path inside the store. */
export interface BackupFileInfo {
  name: string;
  bytes: number;
  modifiedAt: string;
}

/**
 * Where backups go: a flat set of named files (`<backup>/manifest.json`,
 * `<backup>/tables/users.jsonl.gz`, ...). A file appears under its name only
 * once it is completely written, so an interrupted write never looks whole;
 * a backup counts as complete once its `manifest.json` exists (written last).
 * Implement it for object storage; `createFsBackupStore` keeps a folder.
 */
export interface BackupStore {
  /** Human description for messages, e.g. the folder. */
  readonly location: string;
  /** Writes `name` from a stream; the name appears only when the whole stream is stored. */
  put(name: string, content: Readable): Promise<{ bytes: number }>;
  /** Opens a stored file; throws `backup.not_found` when there is none. */
  get(name: string): Promise<Readable>;
  /** Every complete file whose name starts with `prefix` (default all). */
  list(prefix?: string): Promise<BackupFileInfo[]>;
  /** Deletes a file; no error when it is already gone. */
  delete(name: string): Promise<void>;
  /** Optional: moves a local file in (a rename on the same disk). Without it, the file is streamed through `put`. */
  putFile?(name: string, path: string): Promise<{ bytes: number }>;
  /** Optional: a local folder on the store's disk for temporary files, so `putFile` can rename. */
  scratchDir?(): Promise<string>;
  /** Optional: removes temporary files of interrupted writes last touched before `before`; returns how many. */
  sweep?(before: Date): Promise<number>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const PARTIAL = '.partial-';
const SCRATCH = '.scratch';

function checkName(name: string): void {
  if (!NAME.test(name) || name.includes(PARTIAL) || name.length > 512) {
    throw new PlinthError('backup.invalid_name', `Invalid backup file name "${name}"`);
  }
}

/** A folder as a backup store. Files are written to a temporary name, synced, then renamed. */
export function createFsBackupStore(dir: string): BackupStore {
  const root = resolve(dir);
  const pathOf = (name: string) => {
    checkName(name);
    return join(root, ...name.split('/'));
  };
  const partialOf = (path: string) => `${path}${PARTIAL}${process.pid}-${randomBytes(4).toString('hex')}`;

  async function commit(partial: string, path: string): Promise<number> {
    const handle = await open(partial, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, path);
    const parent = await open(dirname(path), 'r').catch(() => undefined);
    // Sync the folder so the rename itself survives a crash (not supported on every platform).
    await parent?.sync().catch(() => undefined);
    await parent?.close();
    return (await stat(path)).size;
  }

  async function walk(dir: string, prefix: string, out: BackupFileInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name.includes(PARTIAL)) continue;
      const name = prefix ? `${prefix}/${entry.name}` : entry.name;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, name, out);
      else if (entry.isFile()) {
        const info = await stat(path);
        out.push({ name, bytes: info.size, modifiedAt: info.mtime.toISOString() });
      }
    }
  }

  return {
    location: root,
    async put(name, content) {
      const path = pathOf(name);
      await mkdir(dirname(path), { recursive: true });
      const partial = partialOf(path);
      try {
        await pipeline(content, createWriteStream(partial));
        return { bytes: await commit(partial, path) };
      } catch (error) {
        await rm(partial, { force: true });
        throw storeError(error, `Could not write ${name} to ${root}`);
      }
    },
    async get(name) {
      const path = pathOf(name);
      try {
        await stat(path);
      } catch {
        throw new PlinthError('backup.not_found', `No file ${name} in ${root}`);
      }
      return createReadStream(path);
    },
    async list(prefix = '') {
      const out: BackupFileInfo[] = [];
      await walk(root, '', out);
      return out.filter((f) => f.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
    },
    async delete(name) {
      const path = pathOf(name);
      await rm(path, { force: true });
      // Drop folders left empty, up to the root.
      for (let d = dirname(path); d.startsWith(root + sep); d = dirname(d)) {
        if ((await readdir(d).catch(() => ['?'])).length) break;
        await rm(d, { recursive: true, force: true });
      }
    },
    async putFile(name, source) {
      const path = pathOf(name);
      await mkdir(dirname(path), { recursive: true });
      const partial = partialOf(path);
      try {
        try {
          await rename(source, partial);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
          await copyFile(source, partial);
          await rm(source, { force: true });
        }
        return { bytes: await commit(partial, path) };
      } catch (error) {
        await rm(partial, { force: true });
        throw storeError(error, `Could not write ${name} to ${root}`);
      }
    },
    async sweep(before) {
      let removed = 0;
      const visit = async (dir: string) => {
        for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) await visit(path);
          else if ((entry.name.includes(PARTIAL) || dir === join(root, SCRATCH)) && (await stat(path)).mtime < before) {
            await rm(path, { force: true });
            removed++;
          }
        }
      };
      await visit(root);
      return removed;
    },
    async scratchDir() {
      const path = join(root, SCRATCH);
      await mkdir(path, { recursive: true });
      return path;
    },
  };
}

/** A disk-full or permission error as a clear `backup.write_failed`. */
export function storeError(error: unknown, what: string): PlinthError {
  if (error instanceof PlinthError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message;
  return new PlinthError('backup.write_failed', `${what}: ${reason}`, { cause: error });
}
