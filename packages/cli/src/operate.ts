import { type AccessService, type ApiKeyService, type Caller, type IdentityService, type Plinth, PlinthError, systemActor } from '@plinth/core';
import type { User } from '@plinth/core/contract';
import { type CliContext, closeWithin, type GlobalOptions, missingSqliteFile, openPlinth, resolveConfig, withTimeout } from './instance.js';

/**
 * Operating on a live deployment (`users ...`, `keys ...`).
 *
 * Terminology:
 * - **operation**: one command's use of the database the server uses (same
 *   configuration), opened without starting any module and closed at the end.
 *   It never migrates: a schema that lags the code is refused, so a CLI never
 *   changes the schema under a running server.
 * - **caller**: the system actor `cli`, which every audit event of a command names.
 * - **user reference**: an email address (contains `@`) or a user id.
 */
export interface Operation {
  plinth: Plinth;
  caller: Caller;
  identity: IdentityService;
  /** The access module's services; throws a one-line reason when it is not loaded. */
  access(why: string): AccessService;
  /** The identity module's API keys; throws a one-line reason when they are not wired in. */
  apiKeys(): ApiKeyService;
  /** Finds a user by email or id; throws `resource.not_found`. */
  findUser(ref: string): Promise<User>;
}

/** An API key as listed (never the key itself). */
export type ApiKey = Awaited<ReturnType<ApiKeyService['listApiKeys']>>['data'][number];

/** How long opening the database may take before the command gives up. */
const OPEN_TIMEOUT_MS = 10_000;

/** The caller every CLI command acts as. */
export const cliCaller = (): Caller => ({ actor: systemActor('cli'), userAgent: 'plinth-cli' });

function optionalService<S>(plinth: Plinth, name: string): S | undefined {
  try {
    return plinth.service<S>(name);
  } catch {
    return undefined;
  }
}

/** Refuses a schema that lags the code: the server migrates, or `plinth migrate up`; never a command. */
async function assertMigrated(plinth: Plinth): Promise<void> {
  const pending = await withTimeout(plinth.migrator.pending(), OPEN_TIMEOUT_MS, 'the database');
  if (!pending.length) return;
  const ids = pending.slice(0, 3).map((m) => m.id).join(', ') + (pending.length > 3 ? ', ...' : '');
  throw new PlinthError(
    'migrations.pending',
    `${pending.length} migration${pending.length === 1 ? ' is' : 's are'} pending (${ids}): run \`plinth migrate up\` first (this command never migrates)`,
  );
}

/**
 * Opens the deployment's database for one command, runs `fn`, and closes it.
 * Safe while `plinth serve` runs on the same database: nothing starts, and
 * SQLite waits for the server's write lock (WAL, busy timeout).
 */
export async function operate<T>(globals: GlobalOptions, ctx: CliContext, fn: (op: Operation) => Promise<T>): Promise<T> {
  const config = resolveConfig(globals);
  // Checked before opening: opening a SQLite file that does not exist would create it.
  const missing = missingSqliteFile(config.databaseUrl);
  if (missing) throw new PlinthError('migrations.pending', `No database at ${missing}: run \`plinth migrate up\` (or \`plinth serve\`) first`);
  const plinth = openPlinth(config, ctx);
  try {
    await assertMigrated(plinth);
    const identity = optionalService<IdentityService>(plinth, 'identity');
    if (!identity) throw new PlinthError('modules.invalid', 'The identity module is not loaded: users and keys need it');
    const op: Operation = {
      plinth,
      caller: cliCaller(),
      identity,
      access(why) {
        const access = optionalService<AccessService>(plinth, 'access');
        if (!access) throw new PlinthError('modules.invalid', `The access module is not loaded: ${why} needs it`);
        return access;
      },
      apiKeys() {
        const apiKeys = (identity as { apiKeys?: ApiKeyService }).apiKeys;
        if (!apiKeys) throw new PlinthError('modules.invalid', 'API keys are not available: the loaded identity module does not provide them');
        return apiKeys;
      },
      async findUser(ref) {
        const row = ref.includes('@') ? await identity.findUserByEmail(ref) : await identity.findUserById(ref);
        if (!row) throw new PlinthError('resource.not_found', `No user ${ref.includes('@') ? 'with the email' : 'with the id'} ${ref}`);
        return identity.toUser(row);
      },
    };
    return await fn(op);
  } finally {
    await closeWithin(plinth);
  }
}
