/** Organizations and memberships: who sees what (404 vs 403), owners, the last owner. */
import { describe, expect, it } from 'vitest';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { accessApp, as, system } from './support.js';

describe.each(dialects)('organizations on %s', (dialect) => {
  const h = useHarness();

  async function withOrg() {
    const app = await accessApp(h, dialect);
    const owner = await app.user('olive@example.com', ['customer'], { name: 'Olive' });
    const admin = await app.user('adam@example.com');
    const member = await app.user('mia@example.com');
    const outsider = await app.user('otto@example.com');
    const staff = await app.user('sam@example.com', ['staff']);
    const org = await app.access.createOrg({ name: 'Acme', slug: 'acme' }, as(owner));
    await app.access.addMember(org.id, { email: 'adam@example.com', role: 'admin' }, as(owner));
    await app.access.addMember(org.id, { email: 'mia@example.com', role: 'member' }, as(owner));
    return { ...app, org, owner, admin, member, outsider, staff };
  }

  it('makes the creator the owner and audits the creation', async () => {
    const { access, audit, user } = await accessApp(h, dialect);
    const olive = await user('olive@example.com');
    const org = await access.createOrg({ name: 'Acme', slug: 'acme' }, as(olive));
    expect(org).toMatchObject({ name: 'Acme', slug: 'acme', role: 'owner' });
    expect(await access.orgRoleOf(org.id, olive.userId)).toBe('owner');
    expect((await audit.list({ action: 'access.org.created' }))[0]).toMatchObject({ actorId: olive.userId, targetId: org.id, data: { slug: 'acme', ownerId: olive.userId } });
    await expect(access.createOrg({ name: 'Other', slug: 'acme' }, as(olive))).rejects.toMatchObject({ code: 'access.org_slug_taken', status: 409 });
    await expect(access.createOrg({ name: 'Sys', slug: 'sys' }, as(system))).rejects.toMatchObject({ code: 'validation.failed', status: 422 });
    expect(await access.createOrg({ name: 'Sys', slug: 'sys', ownerId: olive.userId }, as(system))).toMatchObject({ slug: 'sys' });
  });

  it('shows an organization to its members and to staff, and answers 404 to everyone else', async () => {
    const { access, org, owner, member, outsider, staff } = await withOrg();
    expect((await access.getOrg(member, org.id)).role).toBe('member');
    expect((await access.getOrg(owner, org.id)).role).toBe('owner');
    expect(await access.getOrg(staff, org.id)).toMatchObject({ id: org.id, role: null });
    await expect(access.getOrg(outsider, org.id)).rejects.toMatchObject({ code: 'access.org_not_found', status: 404 });
    await expect(access.getOrg(outsider, 'no-such-org')).rejects.toMatchObject({ code: 'access.org_not_found', status: 404 });
    await expect(access.listMembers(outsider, org.id)).rejects.toMatchObject({ code: 'access.org_not_found' });
    await expect(access.getOrg(null, org.id)).rejects.toMatchObject({ code: 'auth.unauthenticated', status: 401 });
  });

  it('lists my organizations, all of them for staff, by pages', async () => {
    const { access, owner, member, outsider, staff } = await withOrg();
    const second = await access.createOrg({ name: 'Beta', slug: 'beta' }, as(outsider));
    const third = await access.createOrg({ name: 'Gamma', slug: 'gamma' }, as(owner));
    expect((await access.listOrgs(owner)).data.map((o) => [o.slug, o.role])).toEqual([['acme', 'owner'], ['gamma', 'owner']]);
    expect((await access.listOrgs(member)).data.map((o) => o.slug)).toEqual(['acme']);
    const page1 = await access.listOrgs(staff, { limit: 2 });
    expect(page1.data.map((o) => [o.slug, o.role])).toEqual([['acme', null], ['beta', null]]);
    const page2 = await access.listOrgs(staff, { limit: 2, cursor: page1.nextCursor! });
    expect(page2).toEqual({ data: [expect.objectContaining({ id: third.id })], nextCursor: null });
    expect(second.role).toBe('owner');
  });

  it('lists members with their emails and roles, by pages', async () => {
    const { access, org, member, staff } = await withOrg();
    const all = await access.listMembers(member, org.id);
    expect(all.data.map((m) => [m.email, m.role])).toEqual([
      ['olive@example.com', 'owner'],
      ['adam@example.com', 'admin'],
      ['mia@example.com', 'member'],
    ]);
    expect(all.data[0]!.name).toBe('Olive');
    const first = await access.listMembers(staff, org.id, { limit: 1 });
    expect(first.data).toHaveLength(1);
    const rest = await access.listMembers(staff, org.id, { cursor: first.nextCursor! });
    expect(rest.data.map((m) => m.email)).toEqual(['adam@example.com', 'mia@example.com']);
  });

  it('lets org admins add and change members, but not make or touch owners; members change nothing', async () => {
    const { access, audit, org, admin, member, outsider, user } = await withOrg();
    await user('nick@example.com');
    await expect(access.addMember(org.id, { email: 'nick@example.com', role: 'member' }, as(member))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    await expect(access.addMember(org.id, { email: 'nick@example.com', role: 'member' }, as(outsider))).rejects.toMatchObject({ code: 'access.org_not_found', status: 404 });
    await expect(access.addMember(org.id, { email: 'nick@example.com', role: 'owner' }, as(admin))).rejects.toMatchObject({ code: 'auth.forbidden' });

    const nick = await access.addMember(org.id, { email: '  nick@EXAMPLE.com ', role: 'member' }, as(admin));
    expect(nick).toMatchObject({ email: 'nick@example.com', role: 'member' });
    await expect(access.addMember(org.id, { email: 'nick@example.com', role: 'admin' }, as(admin))).rejects.toMatchObject({ code: 'access.member_exists', status: 409 });
    await expect(access.addMember(org.id, { email: 'ghost@example.com', role: 'member' }, as(admin))).rejects.toMatchObject({ code: 'access.user_not_found', status: 404 });

    expect((await access.updateMember(org.id, nick.userId, { role: 'admin' }, as(admin))).role).toBe('admin');
    await expect(access.updateMember(org.id, member.userId, { role: 'owner' }, as(admin))).rejects.toMatchObject({ code: 'auth.forbidden' });
    await expect(access.updateMember(org.id, outsider.userId, { role: 'admin' }, as(admin))).rejects.toMatchObject({ code: 'access.member_not_found', status: 404 });
    const [updated] = await audit.list({ action: 'access.member.updated' });
    expect(updated).toMatchObject({ actorId: admin.userId, targetId: org.id, data: { userId: nick.userId, before: 'member', after: 'admin' } });
  });

  it('keeps the last owner: no demotion, no removal, no leaving; a second owner makes it possible', async () => {
    const { access, org, owner, admin } = await withOrg();
    await expect(access.updateMember(org.id, owner.userId, { role: 'admin' }, as(owner))).rejects.toMatchObject({ code: 'access.last_owner', status: 409 });
    await expect(access.removeMember(org.id, owner.userId, as(owner))).rejects.toMatchObject({ code: 'access.last_owner', status: 409 });
    await expect(access.removeMember(org.id, owner.userId, as(admin))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    await access.updateMember(org.id, admin.userId, { role: 'owner' }, as(owner));
    await access.removeMember(org.id, owner.userId, as(owner));
    expect(await access.orgRoleOf(org.id, owner.userId)).toBeNull();
    await expect(access.getOrg(owner, org.id)).rejects.toMatchObject({ code: 'access.org_not_found' });
  });

  it('lets a member leave, and an admin remove a member, with the change seen at once', async () => {
    const { access, audit, org, admin, member, user } = await withOrg();
    await access.removeMember(org.id, member.userId, as(member));
    await expect(access.getOrg(member, org.id)).rejects.toMatchObject({ code: 'access.org_not_found' });
    const nick = await user('nick@example.com');
    await access.addMember(org.id, { email: 'nick@example.com', role: 'member' }, as(admin));
    expect((await access.getOrg(nick, org.id)).role).toBe('member');
    await access.removeMember(org.id, nick.userId, as(admin));
    await expect(access.removeMember(org.id, nick.userId, as(admin))).rejects.toMatchObject({ code: 'access.member_not_found' });
    expect((await audit.list({ action: 'access.member.removed' })).map((e) => e.data)).toEqual([
      { userId: nick.userId, role: 'member', self: false },
      { userId: member.userId, role: 'member', self: true },
    ]);
  });

  it('lets owners rename and delete their organization, and nobody else', async () => {
    const { access, org, owner, admin, staff } = await withOrg();
    await expect(access.updateOrg(org.id, { name: 'Nope' }, as(admin))).rejects.toMatchObject({ code: 'auth.forbidden' });
    await expect(access.deleteOrg(org.id, as(staff))).rejects.toMatchObject({ code: 'auth.forbidden' });
    expect(await access.updateOrg(org.id, { name: 'Acme Inc' }, as(owner))).toMatchObject({ name: 'Acme Inc', role: 'owner' });
    await access.deleteOrg(org.id, as(owner));
    await expect(access.getOrg(owner, org.id)).rejects.toMatchObject({ code: 'access.org_not_found' });
    expect(await access.orgRoleOf(org.id, admin.userId)).toBeNull();
  });

  it('lets an API key act in an organization only within its scopes and its owner’s org role', async () => {
    const { access, org, admin, member } = await withOrg();
    const key = (userId: string, scopes: string[]) => ({ kind: 'api_key' as const, keyId: 'k', userId, roles: ['customer'], scopes });
    expect((await access.listOrgs(key(member.userId, []))).data).toEqual([]);
    expect((await access.listOrgs(key(member.userId, ['orgs:read']))).data.map((o) => o.slug)).toEqual(['acme']);
    await expect(access.getOrg(key(member.userId, []), org.id)).rejects.toMatchObject({ code: 'access.org_not_found' });
    await expect(access.listMembers(key(member.userId, ['orgs:read']), org.id)).rejects.toMatchObject({ code: 'auth.forbidden' });
    expect((await access.listMembers(key(member.userId, ['orgs:read', 'members:read']), org.id)).data).toHaveLength(3);
    await expect(access.addMember(org.id, { email: 'otto@example.com', role: 'member' }, as(key(admin.userId, ['orgs:read'])))).rejects.toMatchObject({ code: 'auth.forbidden' });
    await expect(access.addMember(org.id, { email: 'otto@example.com', role: 'member' }, as(key(member.userId, ['orgs:read', 'members:write'])))).rejects.toMatchObject({ code: 'auth.forbidden' });
  });

  it('serializes concurrent demotions so that one owner always stays', async () => {
    const { access, org, owner, admin } = await withOrg();
    await access.updateMember(org.id, admin.userId, { role: 'owner' }, as(owner));
    const results = await Promise.allSettled([
      access.updateMember(org.id, admin.userId, { role: 'member' }, as(owner)),
      access.updateMember(org.id, owner.userId, { role: 'member' }, as(admin)),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: expect.stringMatching(/^(access\.last_owner|auth\.forbidden)$/) } });
    const owners = (await access.listMembers(system, org.id)).data.filter((m) => m.role === 'owner');
    expect(owners).toHaveLength(1);
  });
});
