import { generateEncryptionKey } from '@plinth/core';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { http, jsonOf, plinthInProcess, serve } from './cli.js';

interface TableJson {
  table: string;
  scanned: number;
  reencrypted: number;
  current: number;
  undecryptable: number;
  unknownKeyIds: string[];
}
interface ReportJson {
  ok: boolean;
  keyId: string;
  tables: TableJson[];
}

describe('plinth keys rotate-encryption', () => {
  let db: TestDatabase;
  afterEach(async () => {
    await db?.drop();
  });

  const [k1, k2, k3] = ['k1', 'k2', 'k3'].map((id) => generateEncryptionKey(id)) as [string, string, string];
  const env = (...keys: string[]) => ({ env: { PLINTH_ENCRYPTION_KEYS: keys.join(',') } });
  const cli = (args: string[], keys: string[]) => plinthInProcess([...args, '--database-url', db.url], env(...keys));
  const signingKeys = (report: ReportJson) => report.tables.find((t) => t.table === 'signing_keys')!;

  it('re-encrypts every secret under the new first key, after which the old key can go; unknown keys fail with exit 1', async () => {
    db = await createTestDatabase('sqlite');
    expect((await cli(['migrate', 'up'], [k1])).code).toBe(0);
    expect((await cli(['keys', 'rotate'], [k1])).code).toBe(0);
    expect((await cli(['keys', 'rotate'], [k1])).code).toBe(0);

    const result = await cli(['keys', 'rotate-encryption', '--json', '--batch-size', '1'], [k2, k1]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = jsonOf<ReportJson>(result);
    expect(report).toMatchObject({ ok: true, keyId: 'k2' });
    expect(signingKeys(report)).toMatchObject({ scanned: 2, reencrypted: 2, current: 0, undecryptable: 0 });
    expect(result.stdout + result.stderr).not.toContain(k1.split(':')[1]!);

    const again = await cli(['keys', 'rotate-encryption'], [k2, k1]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^ {2}signing_keys\s+private_jwk\s+2\s+0\s+2\s+0$/m);
    expect(again.stdout).toContain('Every secret decrypts under "k2": older keys may now be removed from PLINTH_ENCRYPTION_KEYS.');

    // With only the new key, a server decrypts its signing key and issues tokens; the CLI runs beside it.
    const server = await serve(['--port', '0', '--database-url', db.url], env(k2));
    try {
      const signUp = await http(server.url, 'POST', '/v1/auth/sign-up', { body: { email: 'carol@example.com', password: 'Quiet-Harbor-42' } });
      expect(signUp.status, JSON.stringify(signUp.body)).toBe(201);
      const whileRunning = jsonOf<ReportJson>(await cli(['keys', 'rotate-encryption', '--json'], [k2]));
      expect(whileRunning.ok).toBe(true);
      expect(signingKeys(whileRunning)).toMatchObject({ reencrypted: 0, current: 2 });
    } finally {
      expect((await server.stop()).code).toBe(0);
    }

    const wrong = await cli(['keys', 'rotate-encryption'], [k3]);
    expect(wrong.code, wrong.stdout + wrong.stderr).toBe(1);
    expect(wrong.stdout).toMatch(/^ {2}signing_keys\s+private_jwk\s+2\s+0\s+0\s+2$/m);
    // The sign-up's verification email (its variables hold the link) was written under k2 as well.
    expect(wrong.stdout).toMatch(/^ {2}notification_deliveries\s+variables\s+1\s+0\s+0\s+1$/m);
    expect(wrong.stdout).toContain('3 values no configured key decrypts (key ids: k2): left unchanged; keep the old keys configured.');
    const wrongJson = jsonOf<ReportJson>(await cli(['keys', 'rotate-encryption', '--json'], [k3]));
    expect(wrongJson.ok).toBe(false);
    expect(signingKeys(wrongJson).unknownKeyIds).toEqual(['k2']);
  });
});
