/**
 * The audit log's hash chain: every event links to the one before it, appends
 * are serialized (also across concurrent PostgreSQL transactions), the table
 * refuses UPDATE and DELETE, and `verify` names the first broken link when
 * someone with database access changes, removes or truncates events anyway.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { auditModule, type AuditService, type Plinth, systemActor } from '../src/index.js';
import type { AccessService } from '../src/modules/access/service.js';
import { dialects, type TestDialect } from '../src/testing/index.js';
import { signUp, startApp } from './support/app.js';
import { type Harness, useHarness } from './support/harness.js';

const cli = { actor: systemActor('test'), ip: '203.0.113.7', requestId: 'req-1' };

async function auditApp(h: Harness, dialect: TestDialect) {
  const db = await h.database(dialect);
  const plinth = h.plinth(db.url, { modules: [auditModule] });
  await plinth.start();
  return { plinth, audit: plinth.service<AuditService>('audit') };
}

/** Runs raw SQL as an intruder with database access would, first dropping the append-only triggers. */
async function tamper(plinth: Plinth, statement: string): Promise<void> {
  if (plinth.storage.dialect === 'sqlite') {
    await sql.raw('drop trigger audit_events_no_update').execute(plinth.db);
    await sql.raw('drop trigger audit_events_no_delete').execute(plinth.db);
  } else {
    await sql.raw('drop trigger audit_events_append_only on audit_events').execute(plinth.db);
  }
  await sql.raw(statement).execute(plinth.db);
}

async function recordMany(audit: AuditService, n: number) {
  const events = [];
  for (let i = 1; i <= n; i++) events.push(await audit.record(cli, { action: 'test.step', target: { type: 'thing', id: `t${i}` }, data: { i, nested: { b: 2, a: [1, 'x'] } } }));
  return events;
}

describe.each(dialects)('audit chain on %s', (dialect) => {
  const h = useHarness();

  it('chains events in order and verifies; a rolled-back event leaves no gap', async () => {
    const { plinth, audit } = await auditApp(h, dialect);
    expect(await audit.verify()).toMatchObject({ ok: true, events: 0 });
    const [first, second] = await recordMany(audit, 2);
    await expect(
      plinth.transaction(async () => {
        await audit.record(cli, { action: 'test.never' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const third = await audit.record(cli, { action: 'test.after' });
    expect([first!.seq, second!.seq, third.seq]).toEqual([1, 2, 3]);
    expect(second!.hash).not.toBe(first!.hash);
    expect(await audit.verify()).toEqual({ ok: true, events: 3, headSeq: 3, headHash: third.hash });
    const listed = await audit.list();
    expect(listed.map((e) => e.action)).toEqual(['test.after', 'test.step', 'test.step']);
    expect(listed[1]).toEqual(second);
  });

  it('serializes concurrent appends into one unbroken chain', async () => {
    const { plinth, audit } = await auditApp(h, dialect);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        plinth.transaction(async () => {
          await audit.record(cli, { action: 'test.concurrent', data: { i } });
        }),
      ),
    );
    const events = await audit.list();
    expect(events.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await audit.verify({ batchSize: 7 })).toMatchObject({ ok: true, events: 20 });
  });

  it('refuses UPDATE and DELETE of audit events at the database', async () => {
    const { plinth, audit } = await auditApp(h, dialect);
    const [event] = await recordMany(audit, 1);
    await expect(plinth.db.updateTable('audit_events').set({ action: 'changed' }).where('id', '=', event!.id).execute()).rejects.toThrow(/append-only/);
    await expect(plinth.db.deleteFrom('audit_events').where('id', '=', event!.id).execute()).rejects.toThrow(/append-only/);
    expect(await audit.verify()).toMatchObject({ ok: true, events: 1 });
  });

  it('names a changed event', async () => {
    const { plinth, audit } = await auditApp(h, dialect);
    const events = await recordMany(audit, 5);
    const json = dialect === 'postgres' ? `'{"i": 3, "nested": {"a": [1, "x"], "b": 2}, "extra": true}'::jsonb` : `'{"i":3,"nested":{"b":2,"a":[1,"x"]},"extra":true}'`;
    await tamper(plinth, `update audit_events set data = ${json} where seq = 3`);
    expect(await audit.verify()).toMatchObject({ ok: false, events: 2, brokenAt: { seq: 3, id: events[2]!.id }, reason: 'hash_mismatch' });
  });

  it('names a removed event, a re-linked forgery and a cut-off end', async () => {
    const { plinth, audit } = await auditApp(h, dialect);
    const events = await recordMany(audit, 5);
    await tamper(plinth, 'delete from audit_events where seq = 5');
    expect(await audit.verify()).toMatchObject({ ok: false, events: 4, reason: 'head_mismatch', brokenAt: { seq: 5, id: null } });
    await sql.raw('delete from audit_events where seq = 2').execute(plinth.db);
    expect(await audit.verify()).toMatchObject({ ok: false, events: 1, reason: 'sequence_gap', brokenAt: { seq: 2, id: null } });
    // Renumbering to hide the gap breaks the link instead.
    await sql.raw('update audit_events set seq = 2 where seq = 3').execute(plinth.db);
    expect(await audit.verify()).toMatchObject({ ok: false, events: 1, reason: 'prev_hash_mismatch', brokenAt: { seq: 2, id: events[2]!.id } });
  });

  it('chains events written before the chain existed when migrating', async () => {
    const { plinth, audit } = await auditApp(h, dialect);
    await plinth.migrator.down(1); // audit/0002-hash-chain
    const at = new Date().toISOString();
    for (const id of ['01000000-0000-7000-8000-000000000002', '01000000-0000-7000-8000-000000000001']) {
      await plinth.db
        .insertInto('audit_events')
        .values({ id, actor_type: 'system', actor_id: 'old', action: 'legacy.event', data: plinth.storage.toJson({ id }), created_at: at })
        .execute();
    }
    await plinth.migrator.up();
    const after = await audit.record(cli, { action: 'test.new' });
    expect(after.seq).toBe(3);
    expect((await audit.list()).map((e) => [e.seq, e.id.slice(-1)])).toEqual([[3, after.id.slice(-1)], [2, '2'], [1, '1']]);
    expect(await audit.verify()).toMatchObject({ ok: true, events: 3 });
  });

  it('pages newest first and streams oldest first, filtered by time', async () => {
    const { audit } = await auditApp(h, dialect);
    await recordMany(audit, 5);
    const first = await audit.page({ limit: 2 });
    expect(first.data.map((e) => e.seq)).toEqual([5, 4]);
    const second = await audit.page({ limit: 2, cursor: first.nextCursor! });
    expect(second.data.map((e) => e.seq)).toEqual([3, 2]);
    const last = await audit.page({ limit: 2, cursor: second.nextCursor! });
    expect([last.data.map((e) => e.seq), last.nextCursor]).toEqual([[1], null]);
    const streamed = [];
    for await (const e of audit.stream({ batchSize: 2 })) streamed.push(e.seq);
    expect(streamed).toEqual([1, 2, 3, 4, 5]);
    const future = [];
    for await (const e of audit.stream({ since: new Date(Date.now() + 60_000).toISOString() })) future.push(e);
    expect(future).toEqual([]);
  });
});

describe.each(dialects)('audit routes on %s', (dialect) => {
  const h = useHarness();

  it('GET /v1/audit and /v1/audit/verify: admins only, validated, paged', async () => {
    const app = await startApp(h, dialect);
    const admin = await signUp(app, 'root@example.com');
    await app.plinth.service<AccessService>('access').setRoles(admin.user.id, ['admin'], { actor: systemActor('test') });
    const token = (await app.call('POST', '/v1/auth/refresh', { body: { refreshToken: admin.refreshToken } })).body.accessToken as string;
    const customer = await signUp(app, 'carol@example.com');

    const page = await app.call('GET', '/v1/audit?limit=2', { token });
    expect(page.status).toBe(200);
    expect(page.body.data).toHaveLength(2);
    expect(page.body.data[0].seq).toBeGreaterThan(page.body.data[1].seq);
    const next = await app.call('GET', `/v1/audit?limit=2&cursor=${page.body.nextCursor}`, { token });
    expect(next.body.data[0].seq).toBe(page.body.data[1].seq - 1);
    const signUps = await app.call('GET', '/v1/audit?action=auth.signed_up', { token });
    expect(signUps.body.data.map((e: { targetId: string }) => e.targetId).sort()).toEqual([admin.user.id, customer.user.id].sort());

    const verified = await app.call('GET', '/v1/audit/verify', { token });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true });
    expect(verified.body.events).toBe(3); // two sign-ups and a role change

    expect((await app.call('GET', '/v1/audit?cursor=abc', { token })).body.code).toBe('validation.failed');
    expect((await app.call('GET', '/v1/audit?since=yesterday', { token })).status).toBe(422);
    expect((await app.call('GET', '/v1/audit')).status).toBe(401);
    const forbidden = await app.call('GET', '/v1/audit', { token: customer.accessToken });
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'auth.forbidden']);
    expect((await app.call('GET', '/v1/audit/verify', { token: customer.accessToken })).status).toBe(403);
    expect((await app.call('DELETE', '/v1/audit', { token })).status).toBe(405);
  });
});
