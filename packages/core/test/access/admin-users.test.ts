/** Admin operations on accounts: search, read, disable/enable, roles, sessions. */
import { describe, expect, it } from 'vitest';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { accessApp, as } from './support.js';

describe.each(dialects)('admin users on %s', (dialect) => {
  const h = useHarness();

  async function withUsers() {
    const app = await accessApp(h, dialect);
    const admin = await app.user('root@example.com', ['admin'], { name: 'Root' });
    const staff = await app.user('sam@example.com', ['staff'], { name: 'Sam Staff' });
    const carol = await app.user('carol@example.com', ['customer'], { name: 'Carol Danvers' });
    const dave = await app.user('dave_100%@example.org', ['customer'], { name: 'Dave', status: 'disabled' });
    await app.user('gone@example.com', ['customer'], { status: 'deleted' });
    return { ...app, admin, staff, carol, dave };
  }

  it('lists users by pages without a total, never the deleted ones', async () => {
    const { access, staff } = await withUsers();
    const first = await access.listUsers({ limit: 3 }, as(staff));
    expect(first.data.map((u) => u.email)).toEqual(['root@example.com', 'sam@example.com', 'carol@example.com']);
    expect(first.nextCursor).toBe(first.data[2]!.id);
    const second = await access.listUsers({ limit: 3, cursor: first.nextCursor! }, as(staff));
    expect(second).toEqual({ data: [expect.objectContaining({ email: 'dave_100%@example.org', status: 'disabled', roles: ['customer'] })], nextCursor: null });
  });

  it('searches by email or name substring (case-insensitive, % and _ literal), status and role', async () => {
    const { access, staff } = await withUsers();
    const emails = async (query: Parameters<typeof access.listUsers>[0]) => (await access.listUsers(query, as(staff))).data.map((u) => u.email);
    expect(await emails({ q: 'DANVERS' })).toEqual(['carol@example.com']);
    expect(await emails({ q: 'example.org' })).toEqual(['dave_100%@example.org']);
    expect(await emails({ q: '100%' })).toEqual(['dave_100%@example.org']);
    expect(await emails({ q: '_' })).toEqual(['dave_100%@example.org']);
    expect(await emails({ q: '%' })).toEqual(['dave_100%@example.org']);
    expect(await emails({ status: 'disabled' })).toEqual(['dave_100%@example.org']);
    expect(await emails({ role: 'customer', status: 'active' })).toEqual(['carol@example.com']);
    expect(await emails({ role: 'staff' })).toEqual(['sam@example.com']);
    expect(await emails({ q: 'gone' })).toEqual([]);
  });

  it('reads one user; unknown and deleted users are 404; customers may not', async () => {
    const { plinth, access, staff, carol } = await withUsers();
    expect(await access.getUser(carol.userId, as(staff))).toMatchObject({ email: 'carol@example.com', roles: ['customer'], version: 1 });
    const deleted = await plinth.db.selectFrom('users').select('id').where('status', '=', 'deleted').executeTakeFirstOrThrow();
    await expect(access.getUser(deleted.id as string, as(staff))).rejects.toMatchObject({ code: 'access.user_not_found', status: 404 });
    await expect(access.getUser('nope', as(staff))).rejects.toMatchObject({ code: 'access.user_not_found' });
    await expect(access.getUser(carol.userId, as(carol))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    await expect(access.listUsers({}, as(null))).rejects.toMatchObject({ code: 'auth.unauthenticated', status: 401 });
  });

  it('disables a user: sessions revoked in the same transaction, audited; enabling audits too', async () => {
    const { plinth, access, audit, session, admin, carol } = await withUsers();
    await session(carol.userId);
    await session(carol.userId);
    const disabled = await access.updateUser(carol.userId, { status: 'disabled' }, as(admin));
    expect(disabled).toMatchObject({ status: 'disabled', version: 2 });
    const sessions = await plinth.db.selectFrom('sessions').select(['revoked_at', 'revoked_reason']).where('user_id', '=', carol.userId).execute();
    expect(sessions.every((s) => s.revoked_at !== null && s.revoked_reason === 'disabled')).toBe(true);
    expect((await audit.list({ action: 'access.user.disabled' }))[0]).toMatchObject({ actorId: admin.userId, targetId: carol.userId, data: { revokedSessions: 2 } });

    // Unchanged status: nothing happens.
    expect(await access.updateUser(carol.userId, { status: 'disabled' }, as(admin))).toMatchObject({ version: 2 });
    expect(await access.updateUser(carol.userId, { status: 'active' }, as(admin))).toMatchObject({ status: 'active', version: 3 });
    expect(await audit.list({ action: 'access.user.enabled' })).toHaveLength(1);
  });

  it('sets roles and status together, in one transaction: a bad role changes nothing', async () => {
    const { plinth, access, session, admin, carol } = await withUsers();
    await session(carol.userId);
    await expect(access.updateUser(carol.userId, { status: 'disabled', roles: ['wizard'] }, as(admin))).rejects.toMatchObject({ code: 'access.role_not_found' });
    expect(await access.getUser(carol.userId, as(admin))).toMatchObject({ status: 'active', roles: ['customer'], version: 1 });
    const open = await plinth.db.selectFrom('sessions').select('id').where('user_id', '=', carol.userId).where('revoked_at', 'is', null).execute();
    expect(open).toHaveLength(1);
    expect(await access.updateUser(carol.userId, { status: 'disabled', roles: ['staff'] }, as(admin))).toMatchObject({ status: 'disabled', roles: ['staff'], version: 2 });
  });

  it('lets only users:write holders change users, and answers 404 for unknown ones', async () => {
    const { access, staff, carol, admin } = await withUsers();
    await expect(access.updateUser(carol.userId, { status: 'disabled' }, as(staff))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    await expect(access.revokeUserSessions(carol.userId, as(staff))).rejects.toMatchObject({ code: 'auth.forbidden' });
    await expect(access.updateUser('nope', { status: 'disabled' }, as(admin))).rejects.toMatchObject({ code: 'access.user_not_found', status: 404 });
    await expect(access.revokeUserSessions('nope', as(admin))).rejects.toMatchObject({ code: 'access.user_not_found', status: 404 });
  });

  it('revokes every session of a user and says how many', async () => {
    const { plinth, access, audit, session, admin, carol } = await withUsers();
    await session(carol.userId);
    await session(carol.userId);
    await session(carol.userId);
    expect(await access.revokeUserSessions(carol.userId, as(admin))).toBe(3);
    expect(await access.revokeUserSessions(carol.userId, as(admin))).toBe(0);
    expect(await plinth.db.selectFrom('sessions').select('id').where('revoked_at', 'is', null).execute()).toEqual([]);
    expect((await audit.list({ action: 'access.user.sessions_revoked' })).map((e) => e.data)).toEqual([{ revoked: 0 }, { revoked: 3 }]);
  });
});
