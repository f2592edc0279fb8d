import type { IdentityService } from '@plinth/core';
import { type Command, InvalidArgumentError } from 'commander';
import { action } from '../action.js';
import { type CliContext, type GlobalOptions, globalOptions } from '../instance.js';
import { operate } from '../operate.js';
import { columns, printJson, printLines } from '../output.js';

/**
 * `plinth keys rotate-encryption`: re-encrypts the secrets at rest (every
 * column the loaded modules declare in `encryptedColumns`: TOTP secrets,
 * signing keys' private halves, OIDC state, webhook signing secrets,
 * notification variables) under the current encryption key, the first of
 * `PLINTH_ENCRYPTION_KEYS`. Safe to run again and
 * while the server runs. Exit 1 when some value no configured key decrypts.
 */

export type ReencryptReport = Awaited<ReturnType<IdentityService['reencryptSecrets']>>;
type TableReport = ReencryptReport['tables'][number];

export interface RotateEncryptionOptions {
  /** Rows per transaction; default 100. */
  batchSize?: number;
  /** Called after each batch. */
  onProgress?: (table: Readonly<TableReport>) => void;
}

export function gatherRotateEncryption(globals: GlobalOptions, ctx: CliContext, options: RotateEncryptionOptions = {}): Promise<ReencryptReport> {
  return operate(globals, ctx, async (op) => {
    const identity = op.identity as Partial<Pick<IdentityService, 'reencryptSecrets'>>;
    if (typeof identity.reencryptSecrets !== 'function') {
      throw new Error('Re-encryption is not available: the loaded identity module does not provide reencryptSecrets()');
    }
    return identity.reencryptSecrets({ caller: op.caller, batchSize: options.batchSize, onProgress: options.onProgress });
  });
}

export function printRotateEncryption(report: ReencryptReport): void {
  const header = ['TABLE', 'COLUMN', 'SCANNED', 'RE-ENCRYPTED', 'CURRENT', 'UNDECRYPTABLE'];
  const rows = report.tables.map((t) => [t.table, t.column, String(t.scanned), String(t.reencrypted), String(t.current), String(t.undecryptable)]);
  const undecryptable = report.tables.reduce((n, t) => n + t.undecryptable, 0);
  const unknown = [...new Set(report.tables.flatMap((t) => t.unknownKeyIds))];
  printLines([
    `Secrets at rest, under the current key "${report.keyId}":`,
    ...columns([header, ...rows]),
    report.ok
      ? `Every secret decrypts under "${report.keyId}": older keys may now be removed from PLINTH_ENCRYPTION_KEYS.`
      : `${undecryptable} value${undecryptable === 1 ? '' : 's'} no configured key decrypts${unknown.length ? ` (key ids: ${unknown.join(', ')})` : ''}: left unchanged; keep the old keys configured.`,
  ]);
}

/** A one-line progress indicator on stderr, only on a terminal. */
function progressLine(): { update(table: Readonly<TableReport>): void; end(): void } {
  const tty = process.stderr.isTTY;
  let shown = false;
  return {
    update(table) {
      if (!tty) return;
      shown = true;
      process.stderr.write(`\r\x1b[2K${table.table}: ${table.scanned} scanned, ${table.reencrypted} re-encrypted`);
    },
    end() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

function parseBatch(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000.');
  return n;
}

export function addRotateEncryptionCommand(keys: Command, ctx: CliContext): void {
  keys
    .command('rotate-encryption')
    .description('Re-encrypt every secret at rest under the current encryption key')
    .option('--batch-size <n>', 'rows per transaction', parseBatch, 100)
    .addHelpText(
      'after',
      [
        '',
        'Rotating the encryption key:',
        '  1. Put a new key FIRST in PLINTH_ENCRYPTION_KEYS, keeping the old one after it (new:...,old:...);',
        '     restart the servers: new secrets use the new key, old ones still decrypt.',
        '  2. Run `plinth keys rotate-encryption` (safe while the servers run, and to run again).',
        '  3. When it reports every secret decrypts under the new key, remove the old key and restart.',
        'Generate a key with: node -e "console.log(\'k2:\' + require(\'crypto\').randomBytes(32).toString(\'base64\'))"',
      ].join('\n'),
    )
    .action(
      action(async (opts: { batchSize: number }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const progress = progressLine();
        const report = await gatherRotateEncryption(globals, ctx, { batchSize: opts.batchSize, onProgress: globals.json ? undefined : progress.update }).finally(
          progress.end,
        );
        if (globals.json) printJson(report); // `ok` is the report's own
        else printRotateEncryption(report);
        return report.ok ? 0 : 1;
      }),
    );
}
