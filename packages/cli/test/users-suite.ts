import { existsSync } from 'node:fs';
import type { AuditService, IdentityService } from '@plinth/core';
import type { TestDialect } from '@plinth/core/testing';
import { createTestDatabase, type TestDatabase } from '@plinth/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasStack, jsonOf, plinth, plinthInProcess, prepareDatabase, seedUsers } from './cli.js';

const password = 'Quiet-Harbor-42';

interface UserJson {
  id: string;
  email: string;
  name: string | null;
  status: 'active' | 'disabled';
  emailVerified: boolean;
  mfaEnabled: boolean;
  roles: string[];
  createdAt: string;
}

/** The `plinth users` suite without a server, run once per dialect (one file each). */
export function usersSuite(dialect: TestDialect): void {
  describe(`plinth users on ${dialect}`, () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createTestDatabase(dialect);
    });
    afterEach(async () => {
      await db.drop();
    });

    const migrate = async () => (await prepareDatabase(db.url, { migrate: true })).close();
    // Standard input takes a real process (the built binary); without it, the CLI's program runs in-process.
    const run = (args: string[], input?: string) =>
      input === undefined ? plinthInProcess([...args, '--database-url', db.url]) : plinth([...args, '--database-url', db.url], { input });
    const create = (email: string, extra: string[] = [], input = `${password}\n`) =>
      run(['users', 'create', '--email', email, '--password-stdin', '--json', ...extra], input);

    it('creates a user from the password on standard input (never argv), verified, audited as the CLI, able to sign in', async () => {
      await migrate();
      const args = ['users', 'create', '--email', ' Ops@Example.COM ', '--name', 'Ops', '--password-stdin', '--json'];
      expect(args.join(' ')).not.toContain(password);
      const result = await run(args, `${password}\n`);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(password);
      const { ok, user } = jsonOf(result) as { ok: boolean; user: UserJson };
      expect(ok).toBe(true);
      expect(user).toMatchObject({ email: 'Ops@example.com', name: 'Ops', status: 'active', emailVerified: true, mfaEnabled: false });
      expect(user.roles).toEqual(['customer']);

      const app = await prepareDatabase(db.url, { migrate: false });
      try {
        // The trailing newline was not part of the password.
        const signedIn = await app.service<IdentityService>('identity').signIn({ email: 'ops@example.com', password }, { actor: null });
        expect(signedIn).toMatchObject({ user: { id: user.id }, tokenType: 'Bearer' });
        const [event] = await app.service<AuditService>('audit').list({ action: 'auth.user.created' });
        expect(event).toMatchObject({ actorType: 'system', actorId: 'cli', targetId: user.id, userAgent: 'plinth-cli' });
        expect(JSON.stringify(event)).not.toContain(password);
      } finally {
        await app.close();
      }

      const human = await run(['users', 'create', '--email', 'second@example.com', '--password-stdin'], password);
      expect(human.code, human.stdout + human.stderr).toBe(0);
      expect(human.stdout).toMatch(/^Created second@example\.com \(\S+\) with the roles \S+; the email counts as verified\.\n$/);
    });

    it('refuses weak, short and missing passwords and a taken email with one line and exit 1, creating nothing', async () => {
      await migrate();
      const weak = await create('weak@example.com', [], 'password\n');
      expect(weak.code, weak.stdout + weak.stderr).toBe(1);
      expect(jsonOf(weak)).toEqual({ ok: false, error: { code: 'auth.weak_password', message: 'This password is too common; choose another' } });
      expect(weak.stderr).toBe('error: This password is too common; choose another\n');

      const short = await create('short@example.com', [], 'abc12');
      expect(short.code).toBe(1);
      expect(jsonOf(short).error).toEqual({ code: 'validation.failed', message: 'The password must be at least 8 characters' });

      const badEmail = await create('not-an-email');
      expect(jsonOf(badEmail).error).toEqual({ code: 'validation.failed', message: 'The email must be an email address' });

      await seedUsers(db.url, [{ email: 'taken@example.com' }]);
      const taken = await create('TAKEN@example.com');
      expect(taken.code).toBe(1);
      expect(jsonOf(taken).error.code).toBe('auth.email_taken');
      expect(hasStack(weak.stderr + short.stderr + badEmail.stderr + taken.stderr)).toBe(false);

      const app = await prepareDatabase(db.url, { migrate: false });
      try {
        const emails = (await app.db.selectFrom('users').select('email').execute()).map((r: { email: string }) => r.email);
        expect(emails).toEqual(['taken@example.com']);
      } finally {
        await app.close();
      }
    });

    it('refuses to work on a database with pending migrations, and does not migrate it or create a SQLite file', async () => {
      if (dialect === 'sqlite') {
        const missing = await run(['users', 'list']);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toMatch(/^error: No database at .+: run `plinth migrate up` \(or `plinth serve`\) first\n$/);
        expect(existsSync(db.url.slice('sqlite:'.length))).toBe(false);
      }
      await (await prepareDatabase(db.url, { migrate: false })).close();
      const result = await create('early@example.com');
      expect(result.code).toBe(1);
      expect(jsonOf(result).error).toEqual({
        code: 'migrations.pending',
        message: expect.stringMatching(/^\d+ migrations are pending \(kernel\/0001-create-outbox, .+\): run `plinth migrate up` first \(this command never migrates\)$/),
      });
      const status = await run(['migrate', 'status', '--json']);
      expect(jsonOf(status)).toMatchObject({ applied: 0 });
    });
  });
}

/** `plinth users list|disable|enable|set-role`, run once per dialect (one file each); users are seeded in-process. */
export function usersAdminSuite(dialect: TestDialect): void {
  describe(`plinth users list, disable, enable, set-role on ${dialect}`, () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createTestDatabase(dialect);
      await (await prepareDatabase(db.url, { migrate: true })).close();
    });
    afterEach(async () => {
      await db.drop();
    });

    // Standard input takes a real process (the built binary); without it, the CLI's program runs in-process.
    const run = (args: string[], input?: string) =>
      input === undefined ? plinthInProcess([...args, '--database-url', db.url]) : plinth([...args, '--database-url', db.url], { input });

    it('lists users as a table and as JSON, filtered by text, status and role', async () => {
      const [admin] = await seedUsers(db.url, [{ email: 'root@example.com', name: 'Root', roles: ['admin'] }]);
      const both = await run(['users', 'create', '--email', 'sam@example.com', '--role', 'staff,customer', '--password-stdin', '--json'], password);
      expect(jsonOf(both).user.roles).toEqual(['customer', 'staff']);
      await seedUsers(db.url, [{ email: 'carol@example.com' }]);

      const all = await run(['users', 'list', '--json']);
      expect(all.code, all.stdout + all.stderr).toBe(0);
      const list = jsonOf(all) as { ok: boolean; users: UserJson[]; nextCursor: string | null };
      expect(list.ok).toBe(true);
      expect(list.users.map((u) => [u.email, u.roles, u.status])).toEqual([
        ['root@example.com', ['admin'], 'active'],
        ['sam@example.com', ['customer', 'staff'], 'active'],
        ['carol@example.com', ['customer'], 'active'],
      ]);
      expect(list.nextCursor).toBeNull();

      const table = await run(['users', 'list']);
      expect(table.stdout).toMatch(/^ID\s+EMAIL\s+STATUS\s+ROLES\s+MFA\s+CREATED\n/);
      expect(table.stdout).toMatch(new RegExp(`^${admin!.id}\\s+root@example\\.com\\s+active\\s+admin\\s+no\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d$`, 'm'));
      expect(table.stdout).toContain('3 users\n');

      const filtered = async (...args: string[]) => (jsonOf(await run(['users', 'list', '--json', ...args])).users as UserJson[]).map((u) => u.email);
      expect(await filtered('--q', 'ROOT')).toEqual(['root@example.com']);
      expect(await filtered('--role', 'staff')).toEqual(['sam@example.com']);
      expect(await filtered('--status', 'disabled')).toEqual([]);
      const page = jsonOf(await run(['users', 'list', '--json', '--limit', '2'])) as { users: UserJson[]; nextCursor: string };
      expect(page.users).toHaveLength(2);
      expect(await filtered('--cursor', page.nextCursor)).toEqual(['carol@example.com']);
    });

    it('disables, enables and sets roles by email or id, audited as the CLI', async () => {
      const carol = (await seedUsers(db.url, [{ email: 'carol@example.com' }]))[0]!;

      const disabled = await run(['users', 'disable', 'carol@example.com', '--json']);
      expect(disabled.code, disabled.stdout + disabled.stderr).toBe(0);
      expect(jsonOf(disabled)).toMatchObject({ ok: true, changed: true, user: { id: carol.id, status: 'disabled' } });
      const again = await run(['users', 'disable', carol.id]);
      expect(again.stdout).toBe(`carol@example.com (${carol.id}) is already disabled.\n`);
      const enabled = await run(['users', 'enable', carol.id]);
      expect(enabled.stdout).toBe(`Enabled carol@example.com (${carol.id}): they can sign in again.\n`);

      const roles = await run(['users', 'set-role', 'carol@example.com', 'staff', 'admin', '--json']);
      expect(roles.code, roles.stdout + roles.stderr).toBe(0);
      expect(jsonOf(roles)).toMatchObject({ before: ['customer'], after: ['admin', 'staff'], user: { roles: ['admin', 'staff'] } });
      const unknown = await run(['users', 'set-role', carol.id, 'wizard']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe('error: No role "wizard"\n');
      const nobody = await run(['users', 'disable', 'nobody@example.com']);
      expect(nobody.code).toBe(1);
      expect(nobody.stderr).toBe('error: No user with the email nobody@example.com\n');

      const app = await prepareDatabase(db.url, { migrate: false });
      try {
        const audit = app.service<AuditService>('audit');
        for (const action of ['access.user.disabled', 'access.user.enabled', 'access.roles.changed']) {
          expect(await audit.list({ action }), action).toEqual([expect.objectContaining({ actorType: 'system', actorId: 'cli', targetId: carol.id })]);
        }
      } finally {
        await app.close();
      }
    });
  });
}
