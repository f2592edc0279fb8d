import { PlinthError } from '@plinth/core';
import type { User } from '@plinth/core/contract';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { action } from '../action.js';
import { type CliContext, type GlobalOptions, globalOptions } from '../instance.js';
import { operate } from '../operate.js';
import { columns, printJson, printLines } from '../output.js';
import { readPassword } from '../password-input.js';

/**
 * `plinth users ...`: accounts, for operators. Works on the database the server
 * uses, while it runs; every change is audited with the actor `cli`.
 */

export interface CreateUserInput {
  email: string;
  /** Read from standard input, never from argv. */
  password: string;
  name?: string | undefined;
  /** Replace the default `customer` role; needs the access module. */
  roles?: string[] | undefined;
}

export interface UserListQuery {
  q?: string | undefined;
  status?: 'active' | 'disabled' | undefined;
  role?: string | undefined;
  /** How many users at most; default 50. */
  limit: number;
  cursor?: string | undefined;
}

export interface UserList {
  users: User[];
  /** Pass as `--cursor` for the next users; null at the end. */
  nextCursor: string | null;
}

export interface UserStatusChange {
  user: User;
  /** False when the user already had that status. */
  changed: boolean;
  /** Access-token lifetime: how long a disabled user's tokens may still work. */
  accessTokenTtlSeconds: number;
}

export interface UserRolesChange {
  user: User;
  before: string[];
  after: string[];
}

export function gatherCreateUser(globals: GlobalOptions, ctx: CliContext, input: CreateUserInput): Promise<User> {
  return operate(globals, ctx, async (op) => {
    if (input.roles?.length) op.access('--role'); // a clear reason before any work
    return op.identity.createUser(input, op.caller);
  });
}

export function gatherUserList(globals: GlobalOptions, ctx: CliContext, query: UserListQuery): Promise<UserList> {
  return operate(globals, ctx, async (op) => {
    const access = op.access('users list');
    const users: User[] = [];
    let cursor = query.cursor;
    // The service pages by at most 100.
    for (;;) {
      const page = await access.listUsers({ ...query, limit: Math.min(100, query.limit - users.length), cursor }, op.caller);
      users.push(...page.data);
      cursor = page.nextCursor ?? undefined;
      if (!cursor || users.length >= query.limit) return { users, nextCursor: page.nextCursor };
    }
  });
}

export function gatherSetStatus(globals: GlobalOptions, ctx: CliContext, ref: string, status: 'active' | 'disabled'): Promise<UserStatusChange> {
  return operate(globals, ctx, async (op) => {
    const access = op.access(status === 'active' ? 'users enable' : 'users disable');
    const before = await op.findUser(ref);
    const user = await access.updateUser(before.id, { status }, op.caller);
    return { user, changed: before.status !== user.status, accessTokenTtlSeconds: op.plinth.config.auth.accessTokenTtlSeconds };
  });
}

export function gatherSetRoles(globals: GlobalOptions, ctx: CliContext, ref: string, roles: string[]): Promise<UserRolesChange> {
  return operate(globals, ctx, async (op) => {
    const access = op.access('users set-role');
    const { id } = await op.findUser(ref);
    const { before, after } = await access.setRoles(id, roles, op.caller);
    return { user: await op.findUser(id), before, after };
  });
}

const roleList = (roles: readonly string[]) => (roles.length ? roles.join(', ') : '(none)');
/** `2026-01-31 09:15` (UTC): short enough for a table. */
const shortTime = (iso: string) => iso.replace('T', ' ').slice(0, 16);
const who = (user: User) => `${user.email} (${user.id})`;

export function printCreatedUser(user: User): void {
  printLines([`Created ${who(user)} with the roles ${roleList(user.roles)}; the email counts as verified.`]);
}

export function printUserList(list: UserList): void {
  if (!list.users.length) return printLines(['No users match.']);
  const header = ['ID', 'EMAIL', 'STATUS', 'ROLES', 'MFA', 'CREATED'];
  const rows = list.users.map((u) => [u.id, u.email, u.status, u.roles.join(',') || '-', u.mfaEnabled ? 'yes' : 'no', shortTime(u.createdAt)]);
  const count = `${list.users.length} user${list.users.length === 1 ? '' : 's'}`;
  printLines([...columns([header, ...rows], ''), list.nextCursor ? `${count}; more with --cursor ${list.nextCursor}` : count]);
}

export function printStatusChange(change: UserStatusChange): void {
  const { user, changed } = change;
  if (!changed) return printLines([`${who(user)} is already ${user.status}.`]);
  if (user.status === 'active') return printLines([`Enabled ${who(user)}: they can sign in again.`]);
  const minutes = Math.ceil(change.accessTokenTtlSeconds / 60);
  printLines([
    `Disabled ${who(user)}: every session is revoked, sign-in and refresh are refused;`,
    `access tokens already issued expire within ${minutes} minute${minutes === 1 ? '' : 's'}, API keys stop at once.`,
  ]);
}

export function printRolesChange(change: UserRolesChange): void {
  const same = change.before.join() === change.after.join();
  printLines([
    same
      ? `${who(change.user)} already has the roles ${roleList(change.after)}.`
      : `Roles of ${who(change.user)}: ${roleList(change.before)} -> ${roleList(change.after)} (new access tokens carry them).`,
  ]);
}

/** `--role a --role b` and `--role a,b` both give `[a, b]`. */
function collectRoles(value: string, previous: string[] | undefined): string[] {
  const roles = value.split(',').map((r) => r.trim()).filter(Boolean);
  if (!roles.length) throw new InvalidArgumentError('must name a role.');
  return [...(previous ?? []), ...roles];
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000.');
  return n;
}

export function addUsersCommand(program: Command, ctx: CliContext): Command {
  const users = program
    .command('users')
    .description('Create, list, disable, enable users and set their roles (on the server\'s database, while it runs)')
    .addHelpText('after', '\nA user is named by email or id. Changes are audited with the actor "cli". Pending migrations are refused.');

  users
    .command('create')
    .description('Create a user (email verified, no session), e.g. the first admin')
    .requiredOption('--email <email>', 'their email address')
    .option('--name <name>', 'display name')
    .option('--role <role>', 'a role instead of the default customer; repeat or comma-separate for several', collectRoles)
    .option('--password-stdin', 'read the password from standard input (required: never from the command line)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  printf \'%s\' "$ADMIN_PASSWORD" | plinth users create --email ops@example.com --role admin --password-stdin',
        '  plinth users create --email ops@example.com --password-stdin    # on a terminal: asks twice, without echo',
        '',
        'The password needs 8 to 128 characters and must not be a common one (code auth.weak_password).',
      ].join('\n'),
    )
    .action(
      action(async (opts: { email: string; name?: string; role?: string[]; passwordStdin?: boolean }, cmd: Command) => {
        const globals = globalOptions(cmd);
        if (!opts.passwordStdin) {
          throw new PlinthError('validation.failed', 'Pass --password-stdin and give the password on standard input (it is never taken from the command line)');
        }
        const password = await readPassword();
        const user = await gatherCreateUser(globals, ctx, { email: opts.email, password, name: opts.name, roles: opts.role });
        if (globals.json) printJson({ ok: true, user });
        else printCreatedUser(user);
      }),
    );

  users
    .command('list')
    .description('List users: id, email, status, roles, MFA, created')
    .option('--q <text>', 'only emails or names containing this text')
    .addOption(new Option('--status <status>', 'only active or disabled users').choices(['active', 'disabled']))
    .option('--role <role>', 'only holders of this role')
    .option('--limit <n>', 'how many at most', parseLimit, 50)
    .option('--cursor <cursor>', 'continue after a previous list (its nextCursor)')
    .action(
      action(async (opts: { q?: string; status?: 'active' | 'disabled'; role?: string; limit: number; cursor?: string }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const list = await gatherUserList(globals, ctx, opts);
        if (globals.json) printJson({ ok: true, ...list });
        else printUserList(list);
      }),
    );

  for (const [name, status, description] of [
    ['disable', 'disabled', 'Disable a user: revokes every session; sign-in and refresh stop at once'],
    ['enable', 'active', 'Enable a disabled user again'],
  ] as const) {
    users
      .command(name)
      .description(description)
      .argument('<user>', 'email or id')
      .action(
        action(async (ref: string, _opts: object, cmd: Command) => {
          const globals = globalOptions(cmd);
          const change = await gatherSetStatus(globals, ctx, ref, status);
          if (globals.json) printJson({ ok: true, ...change });
          else printStatusChange(change);
        }),
      );
  }

  users
    .command('set-role')
    .description("Replace a user's roles (admin, staff, customer or a custom role)")
    .argument('<user>', 'email or id')
    .argument('<role...>', 'the complete new set of roles')
    .addHelpText('after', '\nExample:\n  plinth users set-role ops@example.com admin staff')
    .action(
      action(async (ref: string, roles: string[], _opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const change = await gatherSetRoles(globals, ctx, ref, roles.flatMap((r) => r.split(',')).filter(Boolean));
        if (globals.json) printJson({ ok: true, ...change });
        else printRolesChange(change);
      }),
    );

  return users;
}
