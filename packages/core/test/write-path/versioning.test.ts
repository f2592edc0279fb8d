/** Optimistic concurrency: ETag / If-Match / version on PATCH /v1/me, and the helpers modules use. */
import { describe, expect, it } from 'vitest';
import { type AccessService, expectedVersion, parseIfMatch, systemActor, updateVersioned } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { signUp, startApp, type TestApp } from '../support/app.js';
import { useHarness } from '../support/harness.js';

async function me(app: TestApp, token: string) {
  return app.call('GET', '/v1/me', { token });
}

describe.each(dialects)('optimistic concurrency on %s', (dialect) => {
  const h = useHarness();

  it('answers the version as ETag on GET and PATCH /v1/me; a matching If-Match applies and bumps the version', async () => {
    const app = await startApp(h, dialect);
    const { accessToken } = await signUp(app);
    const read = await me(app, accessToken);
    expect(read.headers.get('etag')).toBe('"1"');
    expect(read.body.version).toBe(1);
    const changed = await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Ann' }, headers: { 'if-match': '"1"' } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ name: 'Ann', version: 2 });
    expect(changed.headers.get('etag')).toBe('"2"');
    expect((await me(app, accessToken)).headers.get('etag')).toBe('"2"');
  });

  it('refuses a stale If-Match with 409 resource.version_conflict and changes nothing', async () => {
    const app = await startApp(h, dialect);
    const { accessToken } = await signUp(app);
    await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Ann' }, headers: { 'if-match': '"1"' } });
    const stale = await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Annie' }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'resource.version_conflict', currentVersion: 2 });
    const after = await me(app, accessToken);
    expect(after.body).toMatchObject({ name: 'Ann', version: 2 });
    // Stale is stale even when the change would do nothing.
    expect((await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Ann' }, headers: { 'if-match': '"1"' } })).status).toBe(409);
  });

  it('takes the version from the body as well: stale is 409, current is 200 and version + 1', async () => {
    const app = await startApp(h, dialect);
    const { accessToken } = await signUp(app);
    const stale = await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Bob', version: 7 } });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('resource.version_conflict');
    expect((await me(app, accessToken)).body).toMatchObject({ name: null, version: 1 });
    const ok = await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Bob', version: 1 } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ name: 'Bob', version: 2 });
  });

  it('lets exactly one of two concurrent updates from the same version through', async () => {
    const app = await startApp(h, dialect);
    const { accessToken } = await signUp(app);
    const answers = await Promise.all(
      ['Carol', 'Dave'].map((name) => app.call('PATCH', '/v1/me', { token: accessToken, body: { name }, headers: { 'if-match': '"1"' } })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const winner = answers.find((a) => a.status === 200)!;
    expect((await me(app, accessToken)).body).toMatchObject({ name: winner.body.name, version: 2 });
  });

  it('keeps last-write-wins without If-Match or version, and with If-Match: *', async () => {
    const app = await startApp(h, dialect);
    const { accessToken } = await signUp(app);
    expect((await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Eve' } })).body).toMatchObject({ name: 'Eve', version: 2 });
    const any = await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Eva' }, headers: { 'if-match': '*' } });
    expect(any.body).toMatchObject({ name: 'Eva', version: 3 });
  });

  it('refuses a precondition it cannot check with 400 request.invalid_precondition and changes nothing', async () => {
    const app = await startApp(h, dialect);
    const { accessToken } = await signUp(app);
    for (const ifMatch of ['W/"1"', 'abc', '"1", "2"', '"0"']) {
      const res = await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Mallory' }, headers: { 'if-match': ifMatch } });
      expect([ifMatch, res.status, res.body.code]).toEqual([ifMatch, 400, 'request.invalid_precondition']);
    }
    const disagree = await app.call('PATCH', '/v1/me', { token: accessToken, body: { name: 'Mallory', version: 1 }, headers: { 'if-match': '"2"' } });
    expect(disagree.status).toBe(400);
    expect((await me(app, accessToken)).body).toMatchObject({ name: null, version: 1 });
  });

  it('PUT /v1/roles/:name: ETag on create and update, a stale If-Match or version is 409 and leaves the role as it was', async () => {
    const app = await startApp(h, dialect);
    const signed = await signUp(app, 'root@example.com');
    await app.plinth.service<AccessService>('access').setRoles(signed.user.id, ['admin'], { actor: systemActor() });
    const token = (await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: signed.refreshToken } })).body.accessToken as string;
    const created = await app.call('POST', '/v1/roles', { token, body: { name: 'support', permissions: ['users:read'] } });
    expect(created.headers.get('etag')).toBe('"1"');
    const put = (body: object, headers: Record<string, string> = {}) => app.call('PUT', '/v1/roles/support', { token, body, headers });
    const updated = await put({ permissions: ['roles:read'] }, { 'if-match': '"1"' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ permissions: ['roles:read'], version: 2 });
    expect(updated.headers.get('etag')).toBe('"2"');
    const stale = await put({ permissions: ['users:read', 'roles:read'] }, { 'if-match': '"1"' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'resource.version_conflict', currentVersion: 2 });
    expect((await put({ permissions: [], version: 1 })).status).toBe(409);
    const role = (await app.call('GET', '/v1/roles', { token })).body.data.find((r: { name: string }) => r.name === 'support');
    expect(role).toMatchObject({ permissions: ['roles:read'], version: 2 });
    expect((await put({ permissions: [], version: 2 })).body).toMatchObject({ permissions: [], version: 3 });
  });

  it('updateVersioned: one statement that bumps the version, 409 on a stale one, 404 on a missing row', async () => {
    const app = await startApp(h, dialect, { builtins: false });
    const db = app.plinth.db;
    await db.schema.createTable('docs').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('title', 'text').addColumn('version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    await db.insertInto('docs').values({ id: 'd1', title: 'draft' }).execute();
    expect(await updateVersioned(db, { table: 'docs', id: 'd1', expected: 1, set: { title: 'final' }, resource: 'doc' })).toBe(2);
    await expect(updateVersioned(db, { table: 'docs', id: 'd1', expected: 1, set: { title: 'lost' }, resource: 'doc' })).rejects.toMatchObject({
      code: 'resource.version_conflict', status: 409, details: { currentVersion: 2 },
    });
    await expect(updateVersioned(db, { table: 'docs', id: 'nope', expected: 1, set: { title: 'x' } })).rejects.toMatchObject({ code: 'resource.not_found', status: 404 });
    expect(await updateVersioned(db, { table: 'docs', id: 'd1', expected: undefined, set: { title: 'forced' } })).toBe(3);
    expect(await db.selectFrom('docs').selectAll().execute()).toEqual([{ id: 'd1', title: 'forced', version: 3 }]);
  });
});

describe('If-Match parsing', () => {
  it('reads strong ETags and bare numbers, treats * and no header as any version, refuses the rest', () => {
    expect(parseIfMatch('"12"')).toBe(12);
    expect(parseIfMatch('12')).toBe(12);
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch('*')).toBeUndefined();
    for (const bad of ['W/"1"', '""', '"1",', '-1', '"1e3"', '"99999999999999999"']) expect(() => parseIfMatch(bad)).toThrow(/If-Match/);
    expect(() => parseIfMatch(['"1"', '"2"'])).toThrow(/If-Match/);
    expect(expectedVersion({ headers: {}, body: { version: 4 } })).toBe(4);
    expect(expectedVersion({ headers: { 'if-match': '"4"' }, body: { version: 4 } })).toBe(4);
    expect(() => expectedVersion({ headers: { 'if-match': '"4"' }, body: { version: 5 } })).toThrow(/disagree/);
  });
});
