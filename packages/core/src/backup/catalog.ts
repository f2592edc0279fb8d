import { PlinthError } from '../errors.js';
import { type BackupInfo, infoOf, MANIFEST, readManifest } from './manifest.js';
import type { BackupStore } from './store.js';

interface Scan {
  complete: BackupInfo[];
  /** Folders without a manifest (an interrupted or running backup), with their newest file's time. */
  incomplete: { name: string; modifiedAt: string }[];
}

async function scan(store: BackupStore): Promise<Scan> {
  const files = await store.list();
  const groups = new Map<string, typeof files>();
  for (const file of files) {
    const [head] = file.name.split('/');
    if (!head || !file.name.includes('/')) continue;
    groups.set(head, [...(groups.get(head) ?? []), file]);
  }
  const out: Scan = { complete: [], incomplete: [] };
  for (const [name, group] of groups) {
    const manifest = group.find((f) => f.name === `${name}/${MANIFEST}`);
    if (manifest) {
      try {
        out.complete.push(infoOf(await readManifest(store, name), manifest.bytes));
        continue;
      } catch (error) {
        if (!(error instanceof PlinthError)) throw error;
      }
    }
    out.incomplete.push({ name, modifiedAt: group.map((f) => f.modifiedAt).sort().at(-1)! });
  }
  out.complete.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.name.localeCompare(a.name));
  return out;
}

/** Complete backups (with a valid manifest), newest first. Interrupted ones are never listed. */
export async function listBackups(store: BackupStore): Promise<BackupInfo[]> {
  return (await scan(store)).complete;
}

/** Deletes a backup: the manifest first, so a half-deleted backup is never listed as complete. */
export async function deleteBackup(store: BackupStore, name: string): Promise<void> {
  const files = await store.list(`${name}/`);
  if (!files.length) throw new PlinthError('backup.not_found', `No backup named ${name} in ${store.location}`);
  await store.delete(`${name}/${MANIFEST}`);
  for (const file of files) if (file.name !== `${name}/${MANIFEST}`) await store.delete(file.name);
}

export interface PrunePolicy {
  /** Keep the newest N backups. */
  keepLast?: number;
  /** Keep the newest backup of each of the last D days (UTC) that have one. */
  keepDaily?: number;
  /** Only report what would be deleted. */
  dryRun?: boolean;
  /** Interrupted backups untouched for this long are deleted too; default 24 h. */
  incompleteAfterMs?: number;
  /** The time now; default `Date.now()`. */
  now?: number;
}

export interface PruneReport {
  kept: BackupInfo[];
  deleted: BackupInfo[];
  /** Interrupted backups that were removed. */
  deletedIncomplete: string[];
  /** Temporary files of interrupted writes that were removed. */
  sweptFiles: number;
  dryRun: boolean;
}

const wholeNumber = (value: number | undefined, what: string) => {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new PlinthError('backup.invalid_policy', `${what} must be a whole number of at least 0`);
};

/** Which backups a policy keeps (newest first in, a set of names out): the union of keep-last and keep-daily. */
export function backupsToKeep(backups: readonly BackupInfo[], policy: Pick<PrunePolicy, 'keepLast' | 'keepDaily'>): Set<string> {
  const newestFirst = [...backups].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.name.localeCompare(a.name));
  const keep = new Set(newestFirst.slice(0, policy.keepLast ?? 0).map((b) => b.name));
  const days = new Set<string>();
  for (const backup of newestFirst) {
    if (days.size >= (policy.keepDaily ?? 0)) break;
    const day = backup.createdAt.slice(0, 10);
    if (days.has(day)) continue;
    days.add(day);
    keep.add(backup.name);
  }
  return keep;
}

/** Applies a retention policy: deletes every complete backup it does not keep, and stale interrupted ones. */
export async function pruneBackups(store: BackupStore, policy: PrunePolicy): Promise<PruneReport> {
  wholeNumber(policy.keepLast, 'keep-last');
  wholeNumber(policy.keepDaily, 'keep-daily');
  if (policy.keepLast === undefined && policy.keepDaily === undefined) {
    throw new PlinthError('backup.invalid_policy', 'Say what to keep: --keep-last N and/or --keep-daily D');
  }
  const { complete, incomplete } = await scan(store);
  const keep = backupsToKeep(complete, policy);
  const dryRun = policy.dryRun ?? false;
  const deleted = complete.filter((b) => !keep.has(b.name));
  const cutoff = (policy.now ?? Date.now()) - (policy.incompleteAfterMs ?? 24 * 3600_000);
  const stale = incomplete.filter((i) => Date.parse(i.modifiedAt) < cutoff).map((i) => i.name);
  let sweptFiles = 0;
  if (!dryRun) {
    for (const backup of deleted) await deleteBackup(store, backup.name);
    for (const name of stale) for (const file of await store.list(`${name}/`)) await store.delete(file.name);
    sweptFiles = (await store.sweep?.(new Date(cutoff))) ?? 0;
  }
  return { kept: complete.filter((b) => keep.has(b.name)), deleted, deletedIncomplete: stale, sweptFiles, dryRun };
}
