/**
 * Idempotency-Key on every POST, through a real server: the notes module has no
 * idempotency code of its own, yet retries of its POST are safe.
 */
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CreatePlinthOptions, createManualClock, IDEMPOTENCY_TABLE } from '../../src/index.js';
import { dialects, type TestDialect } from '../../src/testing/index.js';
import { signUp, startApp, type TestApp } from '../support/app.js';
import { type Harness, useHarness } from '../support/harness.js';
import { newProbe, notesModule, type NotesProbe } from './notes-module.js';

async function notesApp(h: Harness, dialect: TestDialect, options: CreatePlinthOptions = {}) {
  const probe = newProbe();
  const app = await startApp(h, dialect, { modules: [notesModule(probe)], ...options });
  const rows = async () => Number(((await app.plinth.db.selectFrom('notes').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()) as { n: unknown }).n);
  const post = (text: string, key: string | undefined, token?: string) =>
    app.call('POST', '/v1/notes', { body: { text }, ...(token ? { token } : {}), headers: key === undefined ? {} : { 'idempotency-key': key } });
  return { app, probe, rows, post };
}

/** Resolves the probe's gate when called: requests for `slow` wait until then. */
function hold(probe: NotesProbe): () => void {
  let open!: () => void;
  probe.gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => open();
}

/** Waits until the handler has been entered `n` times (the request holds its key by then). */
async function handlerRuns(probe: NotesProbe, n: number) {
  for (let i = 0; i < 500 && probe.calls < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(probe.calls).toBe(n);
}

describe.each(dialects)('Idempotency-Key on %s', (dialect) => {
  const h = useHarness();

  it('replays the first answer to a sequential retry: same status, body and Location, marked replayed, one row', async () => {
    const { app, probe, rows, post } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    const key = randomUUID();
    const first = await post('buy milk', key, accessToken);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post('buy milk', key, accessToken);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(`/v1/notes/${first.body.id}`);
    expect(again.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(probe.calls).toBe(1);
    expect(await rows()).toBe(1);
  });

  it('runs 10 concurrent copies of one request once: the others are 409 in flight or the replay', async () => {
    const { app, probe, rows, post } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('pay rent', key, accessToken)));
    const ran = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    const replayed = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === 'true');
    const inFlight = answers.filter((a) => a.status === 409);
    expect(ran).toHaveLength(1);
    expect(replayed.length + inFlight.length).toBe(9);
    for (const a of replayed) expect(a.body).toEqual(ran[0]!.body);
    for (const a of inFlight) {
      expect(a.body.code).toBe('idempotency.in_flight');
      expect(a.headers.get('retry-after')).toBe('1');
    }
    expect(probe.calls).toBe(1);
    expect(await rows()).toBe(1);
  });

  it('answers 409 idempotency.in_flight while the first request runs, then the replay', async () => {
    const { app, probe, rows, post } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    const open = hold(probe);
    const key = randomUUID();
    const first = post('slow', key, accessToken);
    await handlerRuns(probe, 1);
    const duplicate = await post('slow', key, accessToken);
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ code: 'idempotency.in_flight', status: 409 });
    open();
    expect((await first).status).toBe(201);
    const retry = await post('slow', key, accessToken);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual((await first).body);
    expect(probe.calls).toBe(1);
    expect(await rows()).toBe(1);
  });

  it('refuses the same key for a different body or path with 422 idempotency.key_reused and changes nothing', async () => {
    const { app, probe, rows, post } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    const key = randomUUID();
    expect((await post('one', key, accessToken)).status).toBe(201);
    const other = await post('two', key, accessToken);
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: 'idempotency.key_reused' });
    const otherPath = await app.call('POST', '/v1/notes/archive', { token: accessToken, headers: { 'idempotency-key': key } });
    expect(otherPath.status).toBe(422);
    expect(otherPath.body.code).toBe('idempotency.key_reused');
    expect(probe.calls).toBe(1);
    expect(await rows()).toBe(1);
    // The key order of a JSON body does not make it another request.
    const reordered = await app.call('POST', '/v1/notes', { body: { text: 'one' }, token: accessToken, headers: { 'idempotency-key': key } });
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
  });

  it("keeps each caller's keys apart: user B's request under user A's key runs on its own and never sees A's answer", async () => {
    const { app, probe, rows, post } = await notesApp(h, dialect);
    const ann = await signUp(app);
    const bob = await signUp(app);
    const key = 'shared-key-1';
    const a = await post('same text', key, ann.accessToken);
    const b = await post('same text', key, bob.accessToken);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.body.ownerId).toBe(bob.user.id);
    // An anonymous caller with the same key and body is yet another caller.
    const anonymous = await post('same text', key);
    expect(anonymous.headers.get('idempotent-replayed')).toBeNull();
    expect(anonymous.body.ownerId).toBeNull();
    // Ann's API key is a caller of its own too: it neither replays nor blocks her session's key.
    const created = await app.call('POST', '/v1/api-keys', { token: ann.accessToken, body: { name: 'script' } });
    expect(created.status).toBe(201);
    const viaKey = await app.call('POST', '/v1/notes', { body: { text: 'same text' }, headers: { 'x-api-key': created.body.key, 'idempotency-key': key } });
    expect(viaKey.status).toBe(201);
    expect(viaKey.headers.get('idempotent-replayed')).toBeNull();
    expect(viaKey.body.ownerId).toBe(ann.user.id);
    expect(probe.calls).toBe(4);
    expect(await rows()).toBe(4);
  });

  it('releases the key when the handler fails with a 5xx, so the retry runs', async () => {
    const { app, probe, rows, post } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    probe.failures = 1;
    const key = randomUUID();
    const failed = await post('boom', key, accessToken);
    expect(failed.status).toBe(500);
    expect(await rows()).toBe(0);
    const retry = await post('boom', key, accessToken);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(probe.calls).toBe(2);
    expect(await rows()).toBe(1);
  });

  it('records a 4xx the handler raised and replays it without running the handler again', async () => {
    const { app, probe, post } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    const key = randomUUID();
    const first = await post('conflict', key, accessToken);
    expect(first.status).toBe(409);
    expect(first.body.code).toBe('notes.full');
    const retry = await post('conflict', key, accessToken);
    expect(retry.status).toBe(409);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('content-type')).toBe('application/problem+json');
    expect(retry.body).toEqual(first.body);
    expect(probe.calls).toBe(1);
  });

  it('replays a 204 answer without a body', async () => {
    const { app, probe } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    const key = randomUUID();
    const first = await app.call('POST', '/v1/notes/archive', { token: accessToken, headers: { 'idempotency-key': key } });
    const retry = await app.call('POST', '/v1/notes/archive', { token: accessToken, headers: { 'idempotency-key': key } });
    expect([first.status, retry.status]).toEqual([204, 204]);
    expect(retry.text).toBe('');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(probe.calls).toBe(1);
  });

  it('forgets a key after idempotency.ttlSeconds (the clock is injected) and prunes it', async () => {
    const clock = createManualClock(Date.now());
    const { app, probe, rows, post } = await notesApp(h, dialect, { clock, idempotency: { ttlSeconds: 60 } });
    const { accessToken } = await signUp(app);
    const key = randomUUID();
    await post('water plants', key, accessToken);
    clock.advance(59_000);
    expect((await post('water plants', key, accessToken)).headers.get('idempotent-replayed')).toBe('true');
    clock.advance(2_000);
    const later = await post('water plants', key, accessToken);
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect(probe.calls).toBe(2);
    expect(await rows()).toBe(2);
    // The new answer is kept for another TTL; everything older is pruned.
    await post('other', randomUUID(), accessToken);
    clock.advance(61_000);
    expect(await app.plinth.idempotency.prune()).toBe(2);
    expect(await app.plinth.db.selectFrom(IDEMPOTENCY_TABLE).selectAll().execute()).toEqual([]);
  });

  it('lets a retry take over a key whose holder stopped answering for idempotency.lockSeconds (a crashed process)', async () => {
    const clock = createManualClock(Date.now());
    const { app, probe, rows, post } = await notesApp(h, dialect, { clock, idempotency: { lockSeconds: 30 } });
    const { accessToken } = await signUp(app);
    const open = hold(probe);
    const key = randomUUID();
    const stuck = post('slow', key, accessToken);
    await handlerRuns(probe, 1);
    clock.advance(29_000);
    expect((await post('slow', key, accessToken)).status).toBe(409);
    clock.advance(2_000);
    const takeover = post('slow', key, accessToken);
    await handlerRuns(probe, 2);
    open();
    const [late, taken] = await Promise.all([stuck, takeover]);
    // The late holder's work is done and answered, but only the new holder's answer is recorded.
    expect([late.status, taken.status]).toEqual([201, 201]);
    const retry = await post('slow', key, accessToken);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(taken.body);
    expect(await rows()).toBe(2);
    expect(app.logs.some((line) => line.includes('ran past its idempotency lock'))).toBe(true);
  });

  it('refuses a malformed key with 400 idempotency.invalid_key and runs nothing', async () => {
    const { app, probe, rows, post } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    for (const key of ['x'.repeat(256), 'caf\u00e9', '']) {
      const res = await post('hello', key, accessToken);
      expect([key.length, res.status, res.body.code]).toEqual([key.length, 400, 'idempotency.invalid_key']);
    }
    expect((await post('hello', 'x'.repeat(255), accessToken)).status).toBe(201);
    expect(probe.calls).toBe(1);
    expect(await rows()).toBe(1);
  });

  it('validates the body before the key: a 422 records nothing and the key still works', async () => {
    const { app, probe, rows } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    const key = randomUUID();
    const bad = await app.call('POST', '/v1/notes', { body: { text: '' }, token: accessToken, headers: { 'idempotency-key': key } });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation.failed');
    const good = await app.call('POST', '/v1/notes', { body: { text: 'fine' }, token: accessToken, headers: { 'idempotency-key': key } });
    expect(good.status).toBe(201);
    expect(probe.calls).toBe(1);
    expect(await rows()).toBe(1);
  });

  it('leaves POSTs without the header (and other methods with it) alone', async () => {
    const { app, probe, rows, post } = await notesApp(h, dialect);
    const { accessToken } = await signUp(app);
    const a = await post('twice', undefined, accessToken);
    const b = await post('twice', undefined, accessToken);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(probe.calls).toBe(2);
    expect(await rows()).toBe(2);
    const me = await app.call('GET', '/v1/me', { token: accessToken, headers: { 'idempotency-key': 'not-for-get' } });
    expect(me.status).toBe(200);
    expect(await app.plinth.db.selectFrom(IDEMPOTENCY_TABLE).selectAll().execute()).toEqual([]);
  });

  it('replays an anonymous sign-up only to the identical request, and stores neither the tokens nor the password in clear', async () => {
    const { app } = await notesApp(h, dialect);
    const key = randomUUID();
    const body = { email: 'ann@example.com', password: 'a long passphrase' };
    const first = await app.call('POST', '/v1/auth/sign-up', { body, headers: { 'idempotency-key': key } });
    const retry = await app.call('POST', '/v1/auth/sign-up', { body, headers: { 'idempotency-key': key } });
    expect([first.status, retry.status]).toEqual([201, 201]);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.accessToken).toBe(first.body.accessToken);
    // Another caller under the same key (another body) is another request, not a 422 and not a replay.
    const other = await app.call('POST', '/v1/auth/sign-up', { body: { email: 'bob@example.com', password: 'another passphrase' }, headers: { 'idempotency-key': key } });
    expect(other.status).toBe(201);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(other.body.user.id).not.toBe(first.body.user.id);
    expect(await app.plinth.db.selectFrom('users').selectAll().execute()).toHaveLength(2);

    const stored = JSON.stringify(await app.plinth.db.selectFrom(IDEMPOTENCY_TABLE).selectAll().execute());
    const bodySha = createHash('sha256').update(JSON.stringify(body)).digest();
    for (const secret of [first.body.accessToken, first.body.refreshToken, body.password, bodySha.toString('hex'), bodySha.toString('base64url')]) {
      expect(stored).not.toContain(secret);
    }
  });

  it('lists Idempotency-Key on every POST operation in /openapi.json, and If-Match on versioned routes', async () => {
    const { app } = await notesApp(h, dialect);
    const doc = (await app.call('GET', '/openapi.json')).body;
    const header = (op: { parameters: { name: string; in: string }[] }, name: string) => op.parameters.some((p) => p.in === 'header' && p.name === name);
    expect(header(doc.paths['/v1/notes'].post, 'Idempotency-Key')).toBe(true);
    expect(header(doc.paths['/v1/auth/sign-up'].post, 'Idempotency-Key')).toBe(true);
    expect(header(doc.paths['/v1/me'].get, 'Idempotency-Key')).toBe(false);
    expect(header(doc.paths['/v1/me'].patch, 'If-Match')).toBe(true);
  });
});

describe('Idempotency-Key pruning on postgres', () => {
  const h = useHarness();

  it('keeps a key that a request takes over while a prune in another process waits for its row', async () => {
    const { url } = await h.database('postgres');
    const clock = createManualClock(Date.now());
    const a = h.plinth(url, { clock, idempotency: { ttlSeconds: 60 } });
    await a.start();
    const b = h.plinth(url, { clock, idempotency: { ttlSeconds: 60 } });
    await b.start();
    const request = { actor: null, key: randomUUID(), method: 'POST', target: '/v1/things', body: { n: 1 } };
    const first = await a.idempotency.begin(request);
    if (first.kind !== 'run') throw new Error('expected to run');
    await first.lease.complete({ status: 201, headers: {}, body: '{}' });
    clock.advance(61_000); // the key has expired
    let pruning: Promise<number> | undefined;
    await a.transaction(async () => {
      // This request takes the expired key over (its row renewed, locked until the commit)...
      expect((await a.idempotency.beginInTransaction(request)).kind).toBe('run');
      // ...while another process's prune, which saw the row expired, waits for that lock.
      pruning = b.idempotency.prune();
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    expect(await pruning).toBe(0);
    expect(await a.db.selectFrom(IDEMPOTENCY_TABLE).select('key').execute()).toHaveLength(1);
  });
});
