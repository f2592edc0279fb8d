/**
 * Re-encrypts secrets at rest under the current encryption key
 * (`plinth keys rotate-encryption`).
 *
 * Rotating the key, for an operator:
 * 1. Generate a key and put it FIRST in `encryptionKeys` (`PLINTH_ENCRYPTION_KEYS`),
 *    keeping the old one after it: `new:...,old:...`. Restart every process: new
 *    values are now written with the new key, old ones still decrypt.
 * 2. Run the re-encryption. It walks every encrypted column in batches (one
 *    transaction each, rows locked) and rewrites the values whose key id is not
 *    the current one. Running it again changes nothing; it is safe while the
 *    server runs.
 * 3. Only when it reports `ok` (no value left under another key), remove the old
 *    key from the configuration and restart.
 *
 * Every value is decrypted on the way, current ones too, so `ok` means that
 * every secret decrypts under the current key. A value that no configured key
 * decrypts (its key was removed too early, or it was tampered with) is left
 * exactly as it is and counted in `undecryptable`; the report is then not
 * `ok`, and names the unknown key ids it met.
 */
import type { Kysely } from 'kysely';
import type { KernelContext } from '../../module.js';
import type { EncryptedColumn } from '../../secrets/encrypted-column.js';
import type { AuditService } from '../audit/index.js';
import { totpSecretContext } from './totp.js';
import type { Caller } from './types.js';
import { verifierContext } from './oidc.js';
import { signingKeyContext } from './tokens.js';

/**
 * Every encrypted column of the identity module. The contexts must match the
 * ones the writers use: `totp.ts`, `tokens.ts` (`signing_key:<kid>`), `oidc.ts`.
 */
export const identityEncryptedColumns: readonly EncryptedColumn[] = [
  { table: 'totp_credentials', column: 'secret', key: 'user_id', context: totpSecretContext },
  { table: 'signing_keys', column: 'private_jwk', key: 'kid', context: signingKeyContext },
  { table: 'oidc_states', column: 'code_verifier', key: 'state_hash', context: verifierContext },
];

export type { EncryptedColumn };

/**
 * Every encrypted column the loaded modules declare, in module order. The kernel's recorded
 * idempotent answers are left out on purpose: their lookup MACs are made with the key of their
 * time, so they cannot outlive it whatever key encrypts them; they expire instead
 * (`idempotency.ttlSeconds`, see docs/write-path.md).
 */
export function encryptedColumnsOf(kernel: Pick<KernelContext, 'modules'>): EncryptedColumn[] {
  return kernel.modules.flatMap((m) => m.encryptedColumns ?? []);
}

export interface ReencryptTableReport {
  table: string;
  column: string;
  /** Rows looked at. */
  scanned: number;
  /** Rows rewritten under the current key. */
  reencrypted: number;
  /** Rows already under the current key. */
  current: number;
  /** Rows no configured key decrypts (unknown key, or failed integrity check): left unchanged. */
  undecryptable: number;
  /** Key ids met in undecryptable rows that are not configured. */
  unknownKeyIds: string[];
}

export interface ReencryptReport {
  /** The key every value is now under. */
  keyId: string;
  /** True when nothing was left undecryptable: the old keys may be removed. */
  ok: boolean;
  tables: ReencryptTableReport[];
}

export interface ReencryptOptions {
  /** Rows per transaction; default 100. */
  batchSize?: number;
  /** Who runs it, for the audit event; default the system actor `secrets`. */
  caller?: Caller;
  /** Called after each batch (progress bars). */
  onProgress?: (table: Readonly<ReencryptTableReport>) => void;
}

export async function reencryptSecrets(
  kernel: KernelContext,
  columns: readonly EncryptedColumn[],
  options: ReencryptOptions = {},
): Promise<ReencryptReport> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100));
  const box = kernel.secrets;
  // Without configured keys the box runs on the development key, which is then the current one.
  const configured = new Set([box.currentKeyId, ...kernel.config.encryptionKeys.map((entry) => entry.slice(0, entry.indexOf(':')))]);
  const tables: ReencryptTableReport[] = [];

  for (const column of columns) {
    const report: ReencryptTableReport = { table: column.table, column: column.column, scanned: 0, reencrypted: 0, current: 0, undecryptable: 0, unknownKeyIds: [] };
    tables.push(report);
    let after: string | undefined;
    for (;;) {
      const rows = await kernel.transaction(async (tx) => {
        const batch = await selectBatch(kernel, tx.db, column, after, batchSize);
        for (const row of batch) {
          report.scanned++;
          let plaintext: string;
          const context = column.context(row.plinth_pk);
          try {
            plaintext = box.decrypt(row.plinth_value, context);
          } catch {
            report.undecryptable++;
            const keyId = row.plinth_value.split('.')[1] ?? '?';
            if (!configured.has(keyId) && !report.unknownKeyIds.includes(keyId)) report.unknownKeyIds.push(keyId);
            continue;
          }
          if (!box.needsRotation(row.plinth_value)) {
            report.current++;
            continue;
          }
          await tx.db
            .updateTable(column.table)
            .set({ [column.column]: box.encrypt(plaintext, context) })
            .where(column.key, '=', row.plinth_pk)
            .where(column.column, '=', row.plinth_value)
            .execute();
          report.reencrypted++;
        }
        return batch;
      });
      options.onProgress?.(report);
      if (rows.length < batchSize) break;
      after = rows[rows.length - 1]!.plinth_pk;
    }
    if (report.reencrypted || report.undecryptable) {
      kernel.logger.info({ table: column.table, reencrypted: report.reencrypted, undecryptable: report.undecryptable }, 'secrets re-encrypted');
    }
  }

  const result: ReencryptReport = { keyId: box.currentKeyId, ok: tables.every((t) => t.undecryptable === 0), tables };
  const changed = tables.reduce((n, t) => n + t.reencrypted, 0);
  const audit = kernel.optionalService<AuditService>('audit');
  if (audit && (changed || !result.ok)) {
    await audit.record(options.caller ?? { actor: { kind: 'system', name: 'secrets' } }, {
      action: 'secrets.reencrypted',
      data: {
        keyId: result.keyId,
        ok: result.ok,
        tables: Object.fromEntries(tables.map((t) => [t.table, { reencrypted: t.reencrypted, undecryptable: t.undecryptable }])),
      },
    });
  }
  return result;
}

async function selectBatch(kernel: KernelContext, db: Kysely<any>, column: EncryptedColumn, after: string | undefined, limit: number) {
  let query = db
    .selectFrom(column.table)
    .select([`${column.key} as plinth_pk`, `${column.column} as plinth_value`])
    .where(column.column, 'is not', null)
    .orderBy(column.key)
    .limit(limit);
  if (after !== undefined) query = query.where(column.key, '>', after);
  return (await kernel.storage.forUpdate(query).execute()) as { plinth_pk: string; plinth_value: string }[];
}
