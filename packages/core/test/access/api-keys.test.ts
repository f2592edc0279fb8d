/** API keys: format and checksum, shown once, stored hashed, scoped, expiring, revocable. */
import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, generateApiKey, isWellFormedApiKey } from '../../src/modules/identity/api-keys.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { accessApp, as, system } from './support.js';

describe('key format', () => {
  it('is plk_ + 43 base64url characters + _ + a 6-character base62 checksum', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateApiKey();
      expect(key).toMatch(/^plk_[A-Za-z0-9_-]{43}_[0-9A-Za-z]{6}$/);
      expect(isWellFormedApiKey(key)).toBe(true);
    }
  });

  it('computes CRC-32 as zlib does', () => {
    for (const text of ['', 'a', 'plk_abc', generateApiKey(), 'héllo']) {
      if (typeof zlibCrc32 === 'function') expect(crc32(text)).toBe(zlibCrc32(text));
    }
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('rejects typos, truncation and junk offline', () => {
    const key = generateApiKey();
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    expect(isWellFormedApiKey(flip(key, 10))).toBe(false);
    expect(isWellFormedApiKey(flip(key, key.length - 1))).toBe(false);
    expect(isWellFormedApiKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(`${key}x`)).toBe(false);
    expect(isWellFormedApiKey(key.replace('plk_', 'plx_'))).toBe(false);
    expect(isWellFormedApiKey('')).toBe(false);
  });
});

describe.each(dialects)('API keys on %s', (dialect) => {
  const h = useHarness();

  it('creates a key shown once, stores only its SHA-256 and a display prefix, and authenticates it', async () => {
    const { plinth, apiKeys, audit, user } = await accessApp(h, dialect);
    const carol = await user('carol@example.com');
    const created = await apiKeys.createApiKey({ name: 'CI', scopes: ['orgs:create'] }, as(carol));
    expect(created).toMatchObject({ name: 'CI', scopes: ['orgs:create'], expiresAt: null, lastUsedAt: null, revokedAt: null });
    expect(isWellFormedApiKey(created.key)).toBe(true);
    expect(created.prefix).toBe(created.key.slice(0, 12));

    const row = await plinth.db.selectFrom('api_keys').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(createHash('sha256').update(created.key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(created.key.slice(12));

    const listed = await apiKeys.listApiKeys(as(carol));
    expect(listed.data).toEqual([expect.objectContaining({ id: created.id, prefix: created.prefix })]);
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const actor = await apiKeys.authenticateApiKey(created.key);
    expect(actor).toEqual({ kind: 'api_key', keyId: created.id, userId: carol.userId, roles: ['customer'], scopes: ['orgs:create'] });
    expect(await plinth.can(actor, 'orgs:create')).toBe(true);
    expect(await plinth.can(actor, 'api_keys:write')).toBe(false);

    const [event] = await audit.list({ action: 'api_key.created' });
    expect(event).toMatchObject({ actorId: carol.userId, targetId: created.id, data: { userId: carol.userId, name: 'CI', prefix: created.prefix, scopes: ['orgs:create'] } });
    expect(JSON.stringify(await audit.list())).not.toContain(created.key.slice(12));
  });

  it('refuses scopes beyond the creator’s own permissions (403) and undeclared ones (422)', async () => {
    const { apiKeys, access, user } = await accessApp(h, dialect);
    const carol = await user('carol@example.com');
    await expect(apiKeys.createApiKey({ name: 'x', scopes: ['users:read'] }, as(carol))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    await expect(apiKeys.createApiKey({ name: 'x', scopes: ['users:reed'] }, as(carol))).rejects.toMatchObject({ code: 'validation.failed', status: 422, errors: [{ path: 'scopes.0' }] });
    const staff = await user('sam@example.com', ['staff']);
    expect((await apiKeys.createApiKey({ name: 'x', scopes: ['users:read', 'api_keys:read:own'] }, as(staff))).scopes).toEqual(['api_keys:read:own', 'users:read']);
    // An org admin may give a key org-scoped permissions; each org is still checked at use.
    const org = await access.createOrg({ name: 'Acme', slug: 'acme' }, as(carol));
    const orgKey = await apiKeys.createApiKey({ name: 'org bot', scopes: ['orgs:read', 'members:write'] }, as(carol));
    const bot = await apiKeys.authenticateApiKey(orgKey.key);
    expect(await access.can(bot, 'members:write', { type: 'org', orgId: org.id })).toBe(true);
    expect(await access.can(bot, 'members:write', { type: 'org', orgId: 'other' })).toBe(false);
    // A key creates keys only within its own scopes.
    const narrow = await apiKeys.authenticateApiKey((await apiKeys.createApiKey({ name: 'n', scopes: ['api_keys:write', 'orgs:create'] }, as(carol))).key);
    await expect(apiKeys.createApiKey({ name: 'y', scopes: ['api_keys:read'] }, as(narrow))).rejects.toMatchObject({ code: 'auth.forbidden' });
    expect((await apiKeys.createApiKey({ name: 'y', scopes: ['orgs:create'] }, as(narrow))).scopes).toEqual(['orgs:create']);
  });

  it('never gives a key more than its owner has now', async () => {
    const { apiKeys, access, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    const sam = await user('sam@example.com', ['staff']);
    const key = await apiKeys.createApiKey({ name: 'reports', scopes: ['users:read'] }, as(sam));
    expect(await access.can(await apiKeys.authenticateApiKey(key.key), 'users:read')).toBe(true);
    await access.setRoles(sam.userId, ['customer'], as(admin));
    expect(await access.can(await apiKeys.authenticateApiKey(key.key), 'users:read')).toBe(false);
  });

  it('rejects expiry in the past, and stops working at its expiry', async () => {
    const { apiKeys, clock, user } = await accessApp(h, dialect);
    const carol = await user('carol@example.com');
    await expect(apiKeys.createApiKey({ name: 'x', expiresAt: new Date(clock.now() - 1).toISOString() }, as(carol))).rejects.toMatchObject({
      code: 'validation.failed',
      status: 422,
      errors: [{ path: 'expiresAt' }],
    });
    const created = await apiKeys.createApiKey({ name: 'x', expiresAt: new Date(clock.now() + 3_600_000).toISOString().replace('Z', '+00:00') }, as(carol));
    expect(created.expiresAt).toBe(new Date(clock.now() + 3_600_000).toISOString());
    await expect(apiKeys.authenticateApiKey(created.key)).resolves.toMatchObject({ keyId: created.id });
    clock.advance(3_600_000);
    await expect(apiKeys.authenticateApiKey(created.key)).rejects.toMatchObject({ code: 'auth.api_key_invalid', status: 401 });
  });

  it('answers 401 for bad checksums, unknown, revoked keys and disabled or deleted owners', async () => {
    const { plinth, apiKeys, access, user } = await accessApp(h, dialect);
    const admin = await user('root@example.com', ['admin']);
    const carol = await user('carol@example.com');
    const created = await apiKeys.createApiKey({ name: 'x' }, as(carol));
    const invalid = { code: 'auth.api_key_invalid', status: 401 };
    await expect(apiKeys.authenticateApiKey(created.key.slice(0, -1) + (created.key.endsWith('0') ? '1' : '0'))).rejects.toMatchObject(invalid);
    await expect(apiKeys.authenticateApiKey(generateApiKey())).rejects.toMatchObject(invalid);
    await expect(apiKeys.authenticateApiKey('Bearer nonsense')).rejects.toMatchObject(invalid);

    await access.updateUser(carol.userId, { status: 'disabled' }, as(admin));
    await expect(apiKeys.authenticateApiKey(created.key)).rejects.toMatchObject(invalid);
    await access.updateUser(carol.userId, { status: 'active' }, as(admin));
    await expect(apiKeys.authenticateApiKey(created.key)).resolves.toMatchObject({ userId: carol.userId });

    await apiKeys.revokeApiKey(created.id, as(carol));
    await expect(apiKeys.authenticateApiKey(created.key)).rejects.toMatchObject(invalid);

    const other = await apiKeys.createApiKey({ name: 'y' }, as(carol));
    await plinth.db.updateTable('users').set({ status: 'deleted' }).where('id', '=', carol.userId).execute();
    await expect(apiKeys.authenticateApiKey(other.key)).rejects.toMatchObject(invalid);
  });

  it('lists and revokes only my own keys; someone else’s is 404; revoking twice is a no-op', async () => {
    const { apiKeys, audit, user } = await accessApp(h, dialect);
    const carol = await user('carol@example.com');
    const dave = await user('dave@example.com');
    const sam = await user('sam@example.com', ['staff']);
    const mine = await apiKeys.createApiKey({ name: 'mine' }, as(carol));
    await apiKeys.createApiKey({ name: 'his' }, as(dave));
    expect((await apiKeys.listApiKeys(as(carol))).data.map((k) => k.name)).toEqual(['mine']);
    expect((await apiKeys.listApiKeys(as(sam))).data).toEqual([]);
    await expect(apiKeys.listApiKeys(as(sam), { userId: carol.userId })).rejects.toMatchObject({ code: 'auth.forbidden' });
    expect((await apiKeys.listApiKeys(as(system), { userId: carol.userId })).data.map((k) => k.name)).toEqual(['mine']);
    await expect(apiKeys.revokeApiKey(mine.id, as(dave))).rejects.toMatchObject({ code: 'resource.not_found', status: 404 });
    await expect(apiKeys.revokeApiKey('no-such-key', as(carol))).rejects.toMatchObject({ code: 'resource.not_found' });
    await apiKeys.revokeApiKey(mine.id, as(carol));
    await apiKeys.revokeApiKey(mine.id, as(carol));
    const [listed] = (await apiKeys.listApiKeys(as(carol))).data;
    expect(listed!.revokedAt).not.toBeNull();
    expect(await audit.list({ action: 'api_key.revoked' })).toHaveLength(1);
  });

  it('pages my keys newest first', async () => {
    const { apiKeys, user } = await accessApp(h, dialect);
    const carol = await user('carol@example.com');
    for (const name of ['a', 'b', 'c']) await apiKeys.createApiKey({ name }, as(carol));
    const first = await apiKeys.listApiKeys(as(carol), { limit: 2 });
    expect(first.data.map((k) => k.name)).toEqual(['c', 'b']);
    expect((await apiKeys.listApiKeys(as(carol), { limit: 2, cursor: first.nextCursor! })).data.map((k) => k.name)).toEqual(['a']);
  });

  it('records last use at most once a minute', async () => {
    const { plinth, apiKeys, clock, user } = await accessApp(h, dialect);
    const carol = await user('carol@example.com');
    const created = await apiKeys.createApiKey({ name: 'x' }, as(carol));
    const lastUsed = async () => (await plinth.db.selectFrom('api_keys').select('last_used_at').where('id', '=', created.id).executeTakeFirstOrThrow()).last_used_at;
    const t0 = new Date(clock.now()).toISOString();
    await apiKeys.authenticateApiKey(created.key);
    expect(await lastUsed()).toBe(t0);
    clock.advance(30_000);
    await apiKeys.authenticateApiKey(created.key);
    expect(await lastUsed()).toBe(t0);
    clock.advance(30_000);
    await apiKeys.authenticateApiKey(created.key);
    expect(await lastUsed()).toBe(new Date(clock.now()).toISOString());
  });

  it('lets the system actor create a key for a user, bounded by that user', async () => {
    const { apiKeys, user } = await accessApp(h, dialect);
    const carol = await user('carol@example.com');
    await expect(apiKeys.createApiKey({ name: 'cli' }, as(system))).rejects.toMatchObject({ code: 'validation.failed' });
    await expect(apiKeys.createApiKey({ name: 'cli', userId: carol.userId, scopes: ['users:read'] }, as(system))).rejects.toMatchObject({ code: 'auth.forbidden' });
    const created = await apiKeys.createApiKey({ name: 'cli', userId: carol.userId, scopes: ['orgs:create'] }, as(system));
    expect((await apiKeys.authenticateApiKey(created.key)).userId).toBe(carol.userId);
    await expect(apiKeys.createApiKey({ name: 'cli', userId: 'nobody' }, as(system))).rejects.toMatchObject({ code: 'resource.not_found', status: 404 });
    await expect(apiKeys.createApiKey({ name: 'x', userId: carol.userId }, as(await user('dave@example.com')))).rejects.toMatchObject({ code: 'auth.forbidden' });
  });
});
