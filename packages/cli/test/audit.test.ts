/** `plinth audit verify|export` against real databases, through the CLI's program in-process. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createTestDatabase, dialects, type TestDatabase } from '@plinth/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonOf, plinthInProcess, prepareDatabase, seedUsers, tempDir } from './cli.js';

describe.each(dialects)('plinth audit on %s', (dialect) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    await db.drop();
  });
  const run = (args: string[]) => plinthInProcess([...args, '--database-url', db.url]);

  it('verifies the chain, and names the event changed behind its back (exit code 1)', async () => {
    await (await prepareDatabase(db.url, { migrate: true })).close();
    await seedUsers(db.url, [{ email: 'ann@example.com' }, { email: 'bob@example.com' }, { email: 'cid@example.com' }]);

    const good = await run(['audit', 'verify']);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/The audit chain holds: 3 events, head #3 [0-9a-f]{64}/);

    const app = await prepareDatabase(db.url, { migrate: false });
    try {
      const trigger = dialect === 'sqlite' ? 'drop trigger audit_events_no_update' : 'drop trigger audit_events_append_only on audit_events';
      await sql.raw(trigger).execute(app.db);
      await sql.raw(`update audit_events set actor_id = 'someone-else' where seq = 2`).execute(app.db);
    } finally {
      await app.close();
    }
    const bad = await run(['audit', 'verify']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/BROKEN at #2 \(.+\): Event #2 .* was changed after it was written/);
    const json = jsonOf(await run(['audit', 'verify', '--json']));
    expect(json).toMatchObject({ ok: false, events: 1, brokenAt: { seq: 2 }, reason: 'hash_mismatch' });
  });

  it('exports JSON Lines oldest first, to stdout or completely to a file, filtered by --since', async () => {
    await (await prepareDatabase(db.url, { migrate: true })).close();
    await seedUsers(db.url, [{ email: 'ann@example.com' }, { email: 'bob@example.com' }]);

    const out = await run(['audit', 'export']);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((e) => [e.seq, e.action])).toEqual([[1, 'auth.user.created'], [2, 'auth.user.created']]);
    expect(lines[0]).toMatchObject({ actorType: 'system', actorId: 'test', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const none = await run(['audit', 'export', '--since', new Date(Date.now() + 3_600_000).toISOString()]);
    expect([none.code, none.stdout]).toEqual([0, '']);

    const dir = tempDir();
    try {
      const file = join(dir.path, 'audit.jsonl');
      const saved = await run(['audit', 'export', '--out', file, '--json']);
      expect(jsonOf(saved)).toEqual({ ok: true, events: 2, file });
      expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
      expect(readdirSync(dir.path)).toEqual(['audit.jsonl']);
    } finally {
      dir.remove();
    }

    const invalid = await run(['audit', 'export', '--since', 'not a time']);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toMatch(/--since.*must be a date or time/);
  });
});
