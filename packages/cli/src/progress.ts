import type { BackupProgress } from '@plinth/core';
import { SingleBar } from 'cli-progress';

const LABELS: Record<BackupProgress['phase'], string> = {
  snapshot: 'snapshot',
  copy: 'copying',
  migrate: 'migrating',
  verify: 'checksums',
  swap: 'switching',
};

/**
 * A progress bar on stderr for a backup or restore, only for a person at a
 * terminal: never with `--json` or when stdout is not a TTY (scripts, CI).
 */
export function progressBar(json: boolean): { onProgress?: (p: BackupProgress) => void; stop(): void } {
  if (json || !process.stdout.isTTY || !process.stderr.isTTY) return { stop() {} };
  const bar = new SingleBar({
    format: '{phase} |{bar}| {percentage}% {value}/{total} rows {table}',
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  let started = false;
  return {
    onProgress(p) {
      const payload = { phase: LABELS[p.phase].padEnd(9), table: p.table ?? '' };
      if (!started) {
        bar.start(Math.max(p.totalRows, 1), p.rows, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(p.totalRows, p.rows, 1));
        bar.update(p.rows, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
