/** SQLite → logical → PostgreSQL → logical → SQLite: the same data at every step, every type intact. */
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { type ApiKeyService, createBackup, type IdentityService, type Plinth, restoreBackup, systemActor, tableChecksums } from '../../src/index.js';
import { useHarness } from '../support/harness.js';
import { notesModule, tempStore, writeNote } from './support.js';

const BIG = 2n ** 62n + 7n; // beyond 2^53: exact only as a 64-bit integer
const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const META = { b: 1, a: [1, { z: true, y: null }], '10': 'ten', unicode: 'żółw 🐢' };

describe('moving a database between dialects through logical backups', () => {
  const h = useHarness();
  const modules = [notesModule()];
  const app = (url: string) => h.plinth(url, { modules, builtins: undefined, encryptionKeys: [`k1:${Buffer.alloc(32, 7).toString('base64')}`] });

  async function seed(plinth: Plinth) {
    const caller = { actor: systemActor('test') };
    const identity = plinth.service<IdentityService>('identity');
    const ann = await identity.createUser({ email: 'ann@example.com', password: 'Quiet-Harbor-42', name: 'Ann', roles: ['admin'] }, caller);
    await identity.createUser({ email: 'bob@example.com', password: 'Quiet-Harbor-42' }, caller);
    const apiKeys = (identity as unknown as { apiKeys: ApiKeyService }).apiKeys;
    await apiKeys.createApiKey({ name: 'ci', scopes: ['users:read'], userId: ann.id }, caller);
    const id = await writeNote(plinth, 1, 1, {
      body: '{not json, just braces',
      meta: plinth.storage.toJson(META),
      pinned: true,
      big: plinth.storage.dialect === 'sqlite' ? BIG : BIG.toString(),
      ratio: 0.1 + 0.2,
      blob: BYTES,
    });
    await plinth.db.insertInto('note_tags').values([{ note_id: id, tag: 'b' }, { note_id: id, tag: 'a' }]).execute();
    for (let seq = 2; seq <= 30; seq++) await writeNote(plinth, 2, seq, { pinned: seq % 2 === 0, meta: null, big: null });
    return id;
  }

  it('keeps every table equal (users, JSON, timestamps, booleans, 64-bit integers, bytes) from SQLite to PostgreSQL and back', async () => {
    const { store } = tempStore(h);
    const first = await h.database('sqlite');
    const a = app(first.url);
    await a.start();
    const noteId = await seed(a);
    const original = await tableChecksums(a);
    expect(Object.keys(original)).toEqual(expect.arrayContaining(['users', 'user_passwords', 'api_keys', 'audit_events', 'plinth_outbox', 'notes', 'note_tags', 'roles']));
    expect(original.users!.rows).toBe(2);
    expect(original.notes!.rows).toBe(30);

    const toPg = await createBackup(a, { store, name: 'from-sqlite' });
    const pgDb = await h.database('postgres');
    await restoreBackup({ databaseUrl: pgDb.url, store, name: toPg.name, modules });
    const p = app(pgDb.url);
    await p.start();
    expect(await tableChecksums(p)).toEqual(original);
    const pgNote = await p.db.selectFrom('notes').selectAll().where('id', '=', noteId).executeTakeFirstOrThrow();
    expect(pgNote).toMatchObject({ pinned: true, big: BIG.toString(), ratio: 0.1 + 0.2, body: '{not json, just braces', meta: META });
    expect(Buffer.compare(pgNote.blob, BYTES)).toBe(0);
    // Signing in works on the moved database: hashes, roles and the audit trail came along.
    const identity = p.service<IdentityService>('identity');
    expect((await identity.findUserByEmail('ann@example.com'))?.name).toBe('Ann');

    const back = await createBackup(p, { store, name: 'from-postgres' });
    expect(back.dialect).toBe('postgres');
    const last = await h.database('sqlite');
    await restoreBackup({ databaseUrl: last.url, store, name: back.name, modules });
    const b = app(last.url);
    await b.start();
    expect(await tableChecksums(b)).toEqual(original);
    await b.close();

    const raw = new BetterSqlite3(last.url.replace(/^sqlite:/, ''), { readonly: true });
    raw.defaultSafeIntegers(true);
    const row = raw.prepare('select pinned, big, ratio, blob, meta, created_at from notes where id = ?').get(noteId) as Record<string, unknown>;
    raw.close();
    expect(row.pinned).toBe(1n);
    expect(row.big).toBe(BIG);
    expect(row.ratio).toBe(0.1 + 0.2);
    expect(Buffer.compare(row.blob as Buffer, BYTES)).toBe(0);
    expect(JSON.parse(row.meta as string)).toEqual(META);
    expect(row.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
