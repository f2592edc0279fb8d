/**
 * A column of secret-box values, declared by the module that owns its table
 * (`defineModule({ encryptedColumns })`): `plinth keys rotate-encryption`
 * re-encrypts every declared column under the current key. A column that is
 * encrypted but not declared keeps its old key, and stops decrypting once that
 * key is removed.
 */
export interface EncryptedColumn {
  table: string;
  /** The encrypted column; rows where it is null are skipped. */
  column: string;
  /** The one-column primary key, which also orders the walk. */
  key: string;
  /** The secret-box context a row's value was encrypted with, from its primary key: the writer's own, or nothing decrypts. */
  context(key: string): string;
}
