import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { http, jsonOf, kidOf, plinth, type Served, serve } from './cli.js';

const password = 'Quiet-Harbor-42';

interface SigningKeyJson {
  kid: string;
  alg: string;
  state: 'active' | 'verifying' | 'expired';
  createdAt: string;
  retiredAt: string | null;
  verifiesUntil: string | null;
}

describe('plinth keys while plinth serve runs on the same SQLite file', () => {
  let db: TestDatabase;
  const servers: Served[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) expect((await server.stop()).code).toBe(0);
    await db.drop();
  });

  const start = async () => {
    const server = await serve(['--port', '0', '--database-url', db.url]);
    servers.push(server);
    return server;
  };
  const cli = (...args: string[]) => plinth([...args, '--database-url', db.url]);

  it('rotates the signing key: tokens signed before still verify (in a fresh server too), new tokens carry the new kid', async () => {
    db = await createTestDatabase('sqlite');
    const first = await start();
    const signUp = await http(first.url, 'POST', '/v1/auth/sign-up', { body: { email: 'carol@example.com', password } });
    expect(signUp.status).toBe(201);
    const before = signUp.body.accessToken as string;
    const oldKid = kidOf(before);

    const listed = jsonOf<{ ok: boolean; keys: SigningKeyJson[] }>(await cli('keys', 'signing', '--json'));
    expect(listed.keys).toEqual([expect.objectContaining({ kid: oldKid, alg: 'EdDSA', state: 'active', retiredAt: null, verifiesUntil: null })]);

    const rotated = await cli('keys', 'rotate', '--json');
    expect(rotated.code, rotated.stdout + rotated.stderr).toBe(0);
    const rotation = jsonOf<{ ok: boolean; key: SigningKeyJson; verifying: SigningKeyJson[] }>(rotated);
    expect(rotation.key).toMatchObject({ state: 'active', retiredAt: null });
    expect(rotation.key.kid).not.toBe(oldKid);
    expect(rotation.verifying).toEqual([expect.objectContaining({ kid: oldKid, state: 'verifying' })]);
    // Until the old key's last token (15 minutes) has expired, plus the few seconds other processes may still sign with it.
    const verifiesFor = Date.parse(rotation.verifying[0]!.verifiesUntil!) - Date.parse(rotation.verifying[0]!.retiredAt!);
    expect(verifiesFor).toBeGreaterThanOrEqual(15 * 60_000);
    expect(verifiesFor).toBeLessThanOrEqual(15 * 60_000 + 10_000);

    // The running server keeps accepting the old token...
    expect((await http(first.url, 'GET', '/v1/me', { token: before })).status).toBe(200);
    // ...and signs new tokens with the new key within a few seconds, without a restart.
    let refreshToken = signUp.body.refreshToken as string;
    let after = '';
    const deadline = Date.now() + 8000;
    do {
      const refreshed = await http(first.url, 'POST', '/v1/auth/refresh', { body: { refreshToken } });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      ({ accessToken: after, refreshToken } = refreshed.body);
      if (kidOf(after) === rotation.key.kid) break;
      await sleep(500);
    } while (Date.now() < deadline);
    expect(kidOf(after)).toBe(rotation.key.kid);
    expect((await http(first.url, 'GET', '/v1/me', { token: after })).status).toBe(200);

    // A server started afterwards loads the retired key for verification only.
    const second = await start();
    expect((await http(second.url, 'GET', '/v1/me', { token: before })).status).toBe(200);
    expect((await http(second.url, 'GET', '/v1/me', { token: after })).status).toBe(200);
    const signIn = await http(second.url, 'POST', '/v1/auth/sign-in', { body: { email: 'carol@example.com', password } });
    expect(kidOf(signIn.body.accessToken)).toBe(rotation.key.kid);

    const human = await cli('keys', 'signing');
    expect(human.stdout).toMatch(/^KID\s+ALG\s+STATE\s+CREATED\s+RETIRED\s+VERIFIES UNTIL\n/);
    expect(human.stdout).toMatch(new RegExp(`^${oldKid}\\s+EdDSA\\s+verifying\\s+\\S+\\s+\\S+\\s+\\S+$`, 'm'));
    expect(human.stdout).toMatch(new RegExp(`^${rotation.key.kid}\\s+EdDSA\\s+active\\s+\\S+\\s+-\\s+-$`, 'm'));
  });

  it('creates an API key shown once, lists it by prefix, and revokes it: the server refuses it at once', async () => {
    db = await createTestDatabase('sqlite');
    const server = await start();
    expect((await http(server.url, 'POST', '/v1/auth/sign-up', { body: { email: 'ci@example.com', password } })).status).toBe(201);

    const created = await cli('keys', 'create', '--user', 'ci@example.com', '--name', 'deploy', '--scope', 'api_keys:read', '--expires', '30d');
    expect(created.code, created.stdout + created.stderr).toBe(0);
    const key = /^(plk_\S+)$/m.exec(created.stdout)?.[1];
    expect(key, created.stdout).toBeDefined();
    expect(created.stdout.split(key!)).toHaveLength(2); // printed once
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain('This is the only time the key is shown');

    const used = await http(server.url, 'GET', '/v1/api-keys', { apiKey: key });
    expect(used.status, JSON.stringify(used.body)).toBe(200);
    expect(used.body.data).toEqual([expect.objectContaining({ name: 'deploy', scopes: ['api_keys:read'] })]);

    const list = jsonOf(await cli('keys', 'list', '--user', 'ci@example.com', '--json'));
    expect(list.apiKeys).toEqual([expect.objectContaining({ name: 'deploy', prefix: key!.slice(0, 12), revokedAt: null, scopes: ['api_keys:read'] })]);
    expect(JSON.stringify(list)).not.toContain(key);
    const table = await cli('keys', 'list', '--user', 'ci@example.com');
    expect(table.stdout).toMatch(/\bdeploy\s+plk_\S{8}\s+active\s+api_keys:read\b/);
    expect(table.stdout).not.toContain(key);

    const id = list.apiKeys[0].id as string;
    const revoked = await cli('keys', 'revoke', id);
    expect(revoked.stdout).toBe(`Revoked API key ${id}.\n`);
    const refused = await http(server.url, 'GET', '/v1/api-keys', { apiKey: key });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'auth.api_key_invalid' });
    expect(jsonOf(await cli('keys', 'list', '--user', 'ci@example.com', '--json')).apiKeys[0].revokedAt).toEqual(expect.any(String));

    const unknown = await cli('keys', 'revoke', 'no-such-key');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: No such API key\n');
  });
});
