/** Deleting an account takes its roles and memberships along, and never orphans an organization. */
import { describe, expect, it } from 'vitest';
import { dialects } from '../../src/testing/index.js';
import { signUp, startApp } from '../support/app.js';
import { useHarness } from '../support/harness.js';

describe.each(dialects)('account deletion and access on %s', (dialect) => {
  const h = useHarness();

  it('drops roles, memberships and solo organizations with the account', async () => {
    const app = await startApp(h, dialect);
    const ann = await signUp(app);
    const org = await app.call('POST', '/v1/orgs', { token: ann.accessToken, body: { name: 'Solo', slug: 'solo-org' } });
    expect(org.status).toBe(201);
    expect((await app.call('DELETE', '/v1/me', { token: ann.accessToken, body: { password: ann.password } })).status).toBe(204);
    const db = app.plinth.db;
    expect(await db.selectFrom('user_roles').selectAll().where('user_id', '=', ann.user.id).execute()).toEqual([]);
    expect(await db.selectFrom('memberships').selectAll().where('user_id', '=', ann.user.id).execute()).toEqual([]);
    expect(await db.selectFrom('organizations').selectAll().where('id', '=', org.body.id).execute()).toEqual([]);
  });

  it('refuses while the account is the last owner of an organization with other members, and changes nothing', async () => {
    const app = await startApp(h, dialect);
    const ann = await signUp(app);
    const bob = await signUp(app);
    const org = await app.call('POST', '/v1/orgs', { token: ann.accessToken, body: { name: 'Team', slug: 'team-org' } });
    expect((await app.call('POST', `/v1/orgs/${org.body.id}/members`, { token: ann.accessToken, body: { email: bob.email, role: 'admin' } })).status).toBe(201);
    const refused = await app.call('DELETE', '/v1/me', { token: ann.accessToken, body: { password: ann.password } });
    expect([refused.status, refused.body.code]).toEqual([409, 'access.last_owner']);
    expect((await app.call('GET', '/v1/me', { token: ann.accessToken })).status).toBe(200);
    expect((await app.call('GET', `/v1/orgs/${org.body.id}/members`, { token: ann.accessToken })).body.data).toHaveLength(2);

    expect((await app.call('PATCH', `/v1/orgs/${org.body.id}/members/${bob.user.id}`, { token: ann.accessToken, body: { role: 'owner' } })).status).toBe(200);
    expect((await app.call('DELETE', '/v1/me', { token: ann.accessToken, body: { password: ann.password } })).status).toBe(204);
    const members = await app.call('GET', `/v1/orgs/${org.body.id}/members`, { token: bob.accessToken });
    expect(members.body.data.map((m: any) => m.userId)).toEqual([bob.user.id]);
  });
});
