import type { User } from '@plinth/core/contract';
import { type Command, InvalidArgumentError } from 'commander';
import { action } from '../action.js';
import { type CliContext, type GlobalOptions, globalOptions } from '../instance.js';
import { type ApiKey, operate } from '../operate.js';
import { columns, printJson, printLines } from '../output.js';

/**
 * `plinth keys create|list|revoke`: API keys for machines, each acting for a
 * user within its scopes. The key is printed once, on creation, on stdout; it
 * is stored only as a hash. Audited with the actor `cli`.
 */

export interface CreateApiKeyInput {
  /** Email or id of the user the key acts for. */
  user: string;
  name: string;
  scopes?: string[] | undefined;
  /** ISO time; default never. */
  expiresAt?: string | undefined;
}

export interface CreatedApiKeyReport {
  user: Pick<User, 'id' | 'email'>;
  apiKey: ApiKey;
  /** The key itself: shown this once. */
  key: string;
}

export interface ApiKeyList {
  user: Pick<User, 'id' | 'email'>;
  apiKeys: ApiKey[];
}

export function gatherCreateApiKey(globals: GlobalOptions, ctx: CliContext, input: CreateApiKeyInput): Promise<CreatedApiKeyReport> {
  return operate(globals, ctx, async (op) => {
    const apiKeys = op.apiKeys();
    const user = await op.findUser(input.user);
    const { key, ...apiKey } = await apiKeys.createApiKey({ name: input.name, scopes: input.scopes, expiresAt: input.expiresAt, userId: user.id }, op.caller);
    return { user: { id: user.id, email: user.email }, apiKey, key };
  });
}

export function gatherApiKeyList(globals: GlobalOptions, ctx: CliContext, ref: string): Promise<ApiKeyList> {
  return operate(globals, ctx, async (op) => {
    const apiKeys = op.apiKeys();
    const user = await op.findUser(ref);
    const list: ApiKey[] = [];
    let cursor: string | undefined;
    do {
      const page = await apiKeys.listApiKeys(op.caller, { userId: user.id, limit: 100, cursor });
      list.push(...page.data);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { user: { id: user.id, email: user.email }, apiKeys: list };
  });
}

export function gatherRevokeApiKey(globals: GlobalOptions, ctx: CliContext, id: string): Promise<{ id: string }> {
  return operate(globals, ctx, async (op) => {
    await op.apiKeys().revokeApiKey(id, op.caller);
    return { id };
  });
}

const scopeList = (scopes: readonly string[]) => (scopes.length ? scopes.join(', ') : '(none: the key is allowed nothing)');

export function printCreatedApiKey(report: CreatedApiKeyReport): void {
  const { apiKey } = report;
  printLines([
    `Created API key "${apiKey.name}" (id ${apiKey.id}) for ${report.user.email}`,
    `  scopes:  ${scopeList(apiKey.scopes)}`,
    `  expires: ${apiKey.expiresAt ?? 'never'}`,
    '',
    report.key,
    '',
    'This is the only time the key is shown: store it now (it is kept only as a hash).',
  ]);
}

function keyState(key: ApiKey, now: number): string {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= now) return 'expired';
  return 'active';
}

export function printApiKeyList(list: ApiKeyList, now = Date.now()): void {
  if (!list.apiKeys.length) return printLines([`${list.user.email} has no API keys.`]);
  const header = ['ID', 'NAME', 'PREFIX', 'STATE', 'SCOPES', 'EXPIRES', 'LAST USED', 'CREATED'];
  const rows = list.apiKeys.map((k) => [k.id, k.name, k.prefix, keyState(k, now), k.scopes.join(',') || '-', k.expiresAt ?? 'never', k.lastUsedAt ?? 'never', k.createdAt]);
  printLines([`API keys of ${list.user.email} (${list.user.id}):`, ...columns([header, ...rows])]);
}

/** `--scope a --scope b` and `--scope a,b` both give `[a, b]`. */
function collectScopes(value: string, previous: string[] | undefined): string[] {
  const scopes = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!scopes.length) throw new InvalidArgumentError('must name a permission.');
  return [...(previous ?? []), ...scopes];
}

/** An ISO time, or a duration from now: `30d`, `12h`. */
export function parseExpiry(value: string, now = Date.now()): string {
  const relative = /^(\d+)([dh])$/.exec(value);
  if (relative) return new Date(now + Number(relative[1]) * (relative[2] === 'd' ? 86_400_000 : 3_600_000)).toISOString();
  const at = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(at)) throw new InvalidArgumentError('must be an ISO time (2027-01-31T00:00:00Z) or a duration (30d, 12h).');
  return new Date(at).toISOString();
}

export function addApiKeyCommands(keys: Command, ctx: CliContext): void {
  keys
    .command('create')
    .description('Create an API key for a user; prints the key once')
    .requiredOption('--user <user>', 'email or id of the user the key acts for')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scope <permission>', 'a permission the key is limited to (repeat or comma-separate); the user must hold it', collectScopes)
    .option('--expires <time>', 'ISO time or duration (30d, 12h); default never', (v) => parseExpiry(v))
    .addHelpText('after', '\nExample:\n  plinth keys create --user ci@example.com --name deploy --scope orders:read --expires 90d')
    .action(
      action(async (opts: { user: string; name: string; scope?: string[]; expires?: string }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherCreateApiKey(globals, ctx, { user: opts.user, name: opts.name, scopes: opts.scope, expiresAt: opts.expires });
        if (globals.json) printJson({ ok: true, ...report });
        else printCreatedApiKey(report);
      }),
    );

  keys
    .command('list')
    .description("List a user's API keys (prefix, scopes, expiry, last use; never the key)")
    .requiredOption('--user <user>', 'email or id')
    .action(
      action(async (opts: { user: string }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const list = await gatherApiKeyList(globals, ctx, opts.user);
        if (globals.json) printJson({ ok: true, ...list });
        else printApiKeyList(list);
      }),
    );

  keys
    .command('revoke')
    .description('Revoke an API key at once (revoking twice is harmless)')
    .argument('<id>', 'the key id, from `plinth keys list`')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await gatherRevokeApiKey(globals, ctx, id);
        if (globals.json) printJson({ ok: true, revoked: report.id });
        else printLines([`Revoked API key ${report.id}.`]);
      }),
    );
}
