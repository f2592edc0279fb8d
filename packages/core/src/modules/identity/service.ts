import { LRUCache } from 'lru-cache';
import { type Actor, type Credentials, forbidden } from '../../auth.js';
import type { z } from 'zod';
import { emailSchema, passwordSchema, type Tokens, type User } from '../../contract/identity.js';
import { PlinthError } from '../../errors.js';
import type { KernelContext, Tx } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import { identityError } from './errors.js';
import { createMfaChallenges } from './mfa-challenges.js';
import { createMfaService } from './mfa.js';
import { createOidcService } from './oidc.js';
import { assertStrongPassword, createPasswordHasher } from './passwords.js';
import { encryptedColumnsOf, type ReencryptOptions, reencryptSecrets } from './reencrypt-secrets.js';
import { createSessionStore, type SessionRow, sessionNotUsable, sessionView } from './sessions.js';
import { createThrottle } from './throttle.js';
import { type AccessClaims, createTokenService, stillValid } from './tokens.js';
import type { AuthMethod, Caller, IdentityCore, UserRow } from './types.js';
import { createUserStore, emailKey } from './users.js';

export type SignInResult = Tokens | { mfaRequired: true; mfaToken: string; expiresIn: number };

/** Resolves `plk_...` API keys to actors; provided by the API-key part of this module. */
export type ApiKeyAuthenticator = (key: string, caller: Caller) => Promise<Actor>;

const invalidCredentials = () => identityError('auth.invalid_credentials', 'The email or password is not correct');

export function createIdentityService(kernel: KernelContext) {
  const auth = kernel.config.auth;
  const hasher = createPasswordHasher({ memoryKib: auth.passwordMemoryKib, iterations: auth.passwordIterations });
  const users = createUserStore(kernel);
  const tokens = createTokenService(kernel);
  const throttle = createThrottle(kernel);
  const challenges = createMfaChallenges(kernel);
  const audit = () => kernel.optionalService<AuditService>('audit');
  const sessions = createSessionStore(kernel, audit);
  const access = () => kernel.optionalService<{
        grantDefaultRole(userId: string): Promise<void>;
        setRoles(userId: string, roles: readonly string[], caller: Caller): Promise<unknown>;
      }>('access');
  let apiKeyAuthenticator: ApiKeyAuthenticator | undefined;
  /** The actor of each verified token's claims (`tokens.verify` answers the same claims object while it caches them). */
  const actors = new WeakMap<AccessClaims, Actor>();
  /**
   * The actor of each `Authorization: Bearer <token>` header whose access token verified, until the
   * token expires: a request that sends the same header again (every request of a signed-in client)
   * is one map lookup and an expiry check, no parsing. Bounded like the verified-token cache.
   */
  const actorsByHeader = new LRUCache<string, { actor: Actor; expiresAtMs: number }>({ max: 10_000 });
  function authenticateNow(credentials: Credentials): Actor | undefined {
    const raw = credentials.authorization;
    // An API key takes precedence over the header: only a request without one uses the cache.
    if (raw === undefined || credentials.apiKey !== undefined) return undefined;
    const known = actorsByHeader.get(raw);
    if (!known) return undefined;
    if (stillValid(known.expiresAtMs, kernel.clock.now())) return known.actor;
    actorsByHeader.delete(raw);
    return undefined;
  }
  /**
   * Called after sign-up, inside its transaction (e.g. to write the verification token). A hook may
   * answer a function, run after the commit (e.g. to send the message without holding the transaction).
   */
  const signUpHooks: ((user: UserRow, caller: Caller) => Promise<void | (() => Promise<void>)>)[] = [];

  /** Inserts an active user and their password hash, in the caller's transaction. */
  async function insertUser(tx: Tx, input: { email: string; name?: string | undefined; emailVerified: boolean }, hash: string): Promise<UserRow> {
    const now = new Date(kernel.clock.now()).toISOString();
    const user: UserRow = {
      id: kernel.ids.next(),
      email: input.email,
      email_key: emailKey(input.email),
      name: input.name ?? null,
      status: 'active',
      email_verified_at: input.emailVerified ? now : null,
      mfa_enabled: false,
      created_at: now,
      updated_at: now,
      deleted_at: null,
      version: 1,
    };
    await tx.db.insertInto('users').values(user).execute();
    await tx.db.insertInto('user_passwords').values({ user_id: user.id, hash, updated_at: now }).execute();
    return user;
  }

  const emailTaken = (error: unknown) =>
    (error as { code?: string }).code === 'storage.conflict' ? identityError('auth.email_taken', 'An account with this email already exists') : error;

  async function tokensFor(user: UserRow, sessionId: string, refreshToken: string): Promise<Tokens> {
    const roles = await users.roles(user.id);
    const { token, expiresIn } = await tokens.sign({ userId: user.id, sessionId, roles });
    return { user: await users.toUser(user, roles), accessToken: token, refreshToken, expiresIn, tokenType: 'Bearer' };
  }

  const core: IdentityCore = {
    toUser: (row) => users.toUser(row),
    findUserById: users.findById,
    findUserByEmail: users.findByEmail,
    async issueSession(user, method, caller) {
      const { sessionId, refreshToken } = await sessions.create(user.id, method, caller);
      return tokensFor(user, sessionId, refreshToken);
    },
    revokeSessions: (userId, options) => sessions.revokeForUser(userId, options),
    listUserSessions: async (userId) => (await sessions.list(userId)).map(sessionView),
    hashPassword: (password) => hasher.hash(password),
    verifyPassword: (hash, password) => hasher.verify(hash, password),
    assertStrongPassword,
  };

  return {
    ...core,
    tokens,
    sessions,
    challenges,
    hasher,
    audit,
    /** TOTP MFA: enroll, confirm, disable, and the second sign-in step (`mfa.ts`). */
    mfa: createMfaService(kernel, { core, throttle, challenges, audit }),
    /** OpenID Connect sign-in (`oidc.ts`); one per instance, so discovery documents stay cached. */
    oidc: createOidcService(kernel, core),
    /**
     * Re-encrypts every secret at rest under the current encryption key: the columns every loaded
     * module declares (`encryptedColumns`) and the kernel's (`plinth keys rotate-encryption`);
     * see `reencrypt-secrets.ts` for the operator's steps.
     */
    reencryptSecrets: (options?: ReencryptOptions) => reencryptSecrets(kernel, encryptedColumnsOf(kernel), options),
    /** Lets the API-key code plug into `authenticate`. */
    useApiKeyAuthenticator(fn: ApiKeyAuthenticator) {
      apiKeyAuthenticator = fn;
    },
    onSignUp(hook: (user: UserRow, caller: Caller) => Promise<void | (() => Promise<void>)>) {
      signUpHooks.push(hook);
    },

    async signUp(input: { email: string; password: string; name?: string | undefined }, caller: Caller): Promise<Tokens> {
      assertStrongPassword(input.password, input.email);
      // Hash before the transaction: a hash held inside it would serialize every sign-up behind SQLite's one writer.
      const hash = await hasher.hash(input.password);
      const afterCommit: (() => Promise<void>)[] = [];
      let result: Tokens;
      try {
        result = await kernel.transaction(async (tx) => {
          const user = await insertUser(tx, { email: input.email, name: input.name, emailVerified: false }, hash);
          await access()?.grantDefaultRole(user.id);
          const self = { ...caller, actor: { kind: 'user', userId: user.id, sessionId: '', roles: [] } as Actor };
          await audit()?.record(self, { action: 'auth.signed_up', target: { type: 'user', id: user.id } });
          await tx.emit({ type: 'user.signed_up', aggregate: { type: 'user', id: user.id }, payload: { userId: user.id } });
          for (const hook of signUpHooks) {
            const after = await hook(user, self);
            if (after) afterCommit.push(after);
          }
          return core.issueSession(user, 'password', self);
        });
      } catch (error) {
        throw emailTaken(error);
      }
      for (const after of afterCommit) await after();
      return result;
    },

    /**
     * Creates an account for an operator (`plinth users create`): the same rows as sign-up,
     * but no session is issued, no sign-up hook runs and the email counts as verified.
     * `roles`, when given, replace the default `customer` role through the access module
     * (which must then be loaded). Needs `users:write`; audited `auth.user.created`.
     */
    async createUser(
      input: { email: string; password: string; name?: string | undefined; roles?: readonly string[] | undefined },
      caller: Caller,
    ): Promise<User> {
      await kernel.authorize(caller.actor, 'users:write');
      const email = parseField(emailSchema, input.email, 'email');
      const password = parseField(passwordSchema, input.password, 'password');
      const name = input.name === undefined ? undefined : input.name.trim() || undefined;
      assertStrongPassword(password, email);
      const roleService = access();
      if (input.roles?.length && !roleService) {
        throw new PlinthError('modules.invalid', 'Assigning roles needs the access module, which is not loaded');
      }
      const hash = await hasher.hash(password);
      try {
        const user = await kernel.transaction(async (tx) => {
          const user = await insertUser(tx, { email, name, emailVerified: true }, hash);
          if (input.roles !== undefined) await roleService?.setRoles(user.id, input.roles, caller);
          else await roleService?.grantDefaultRole(user.id);
          await audit()?.record(caller, { action: 'auth.user.created', target: { type: 'user', id: user.id }, data: { email, roles: input.roles ?? null } });
          await tx.emit({ type: 'user.signed_up', aggregate: { type: 'user', id: user.id }, payload: { userId: user.id } });
          return user;
        });
        return await users.toUser(user);
      } catch (error) {
        throw emailTaken(error);
      }
    },

    /**
     * Unknown email and wrong password cost one password hash each and answer
     * the same error; failures count toward lockouts per account and per IP.
     */
    async signIn(input: { email: string; password: string }, caller: Caller): Promise<SignInResult> {
      const accountKey = `account:${emailKey(input.email)}`;
      const keys = caller.ip ? [accountKey, `ip:${caller.ip}`] : [accountKey];
      const state = await throttle.check(keys);
      if (state.locked) {
        throw identityError('auth.account_locked', 'Too many failed sign-ins; try again later', { details: { retryAfter: state.retryAfter } });
      }
      // One read whether or not the email is known (user and hash together), then one hash either way.
      const found = await users.findForSignIn(input.email);
      const user = found?.user;
      const storedHash = found?.hash ?? undefined;
      let verified = false;
      if (storedHash) verified = await hasher.verify(storedHash, input.password);
      else await hasher.burn(input.password);

      if (!verified || !user) {
        await kernel.transaction(async () => {
          const locked = await throttle.fail(keys.map((key) => ({ key, kind: key.startsWith('ip:') ? ('ip' as const) : ('account' as const) })));
          await audit()?.record(caller, {
            action: 'auth.sign_in.failed',
            target: user ? { type: 'user', id: user.id } : undefined,
            data: { email: input.email, reason: user ? 'wrong_password' : 'unknown_email' },
          });
          for (const lock of locked) {
            await audit()?.record(caller, {
              action: 'auth.lockout',
              target: lock.kind === 'account' && user ? { type: 'user', id: user.id } : undefined,
              data: { kind: lock.kind, key: lock.kind === 'account' ? input.email : caller.ip, seconds: lock.seconds },
            });
          }
        });
        throw invalidCredentials();
      }
      if (user.status !== 'active') {
        await audit()?.record(caller, { action: 'auth.sign_in.failed', target: { type: 'user', id: user.id }, data: { reason: 'disabled' } });
        throw identityError('auth.account_disabled', 'This account is disabled');
      }
      // Re-hashing (rare) costs a hash: done before the transaction, like sign-up.
      const rehashed = hasher.needsRehash(storedHash!) ? await hasher.hash(input.password) : undefined;
      const self = { ...caller, actor: { kind: 'user', userId: user.id, sessionId: '', roles: [] } as Actor };
      // One transaction, one commit: the lockout count, the new hash, the session and the audit event.
      const outcome = await kernel.transaction(async () => {
        // Only a key that had a row has a count to clear (a failure counted since the check is
        // kept: it came after this sign-in's check, so it may well come after the sign-in).
        if (state.tracked.has(accountKey)) await throttle.reset(accountKey);
        if (rehashed) {
          await kernel.db.updateTable('user_passwords').set({ hash: rehashed, updated_at: new Date(kernel.clock.now()).toISOString() }).where('user_id', '=', user.id).execute();
        }
        if (kernel.storage.fromBoolean(user.mfa_enabled)) {
          const challenge = await challenges.create(user.id, caller);
          await audit()?.record(self, { action: 'auth.sign_in.mfa_required', target: { type: 'user', id: user.id } });
          return { mfaRequired: true as const, ...challenge };
        }
        const session = await sessions.create(user.id, 'password', self);
        await audit()?.record(self, { action: 'auth.sign_in.succeeded', target: { type: 'user', id: user.id }, data: { method: 'password' } });
        return session;
      });
      if ('mfaRequired' in outcome) return outcome;
      // Roles and the signature after the commit: neither needs the write lock.
      return tokensFor(user, outcome.sessionId, outcome.refreshToken);
    },

    async refresh(refreshToken: string, caller: Caller): Promise<Tokens> {
      const outcome = await sessions.rotate(refreshToken, caller);
      if (!outcome.ok) throw sessionNotUsable(outcome.code);
      return tokensFor(outcome.user, outcome.sessionId, outcome.refreshToken);
    },

    async signOut(actor: Actor | null, caller: Caller): Promise<void> {
      if (actor?.kind !== 'user') throw identityError('auth.invalid_token', 'Sign out needs a user access token');
      await kernel.transaction(async () => {
        await sessions.revokeForUser(actor.userId, { onlySessionId: actor.sessionId, reason: 'signed_out' });
        await audit()?.record(caller, { action: 'auth.signed_out', target: { type: 'session', id: actor.sessionId } });
      });
    },

    async listSessions(actor: Actor) {
      const userId = requirePerson(actor);
      const rows = await sessions.list(userId);
      return rows.map((s: SessionRow) => ({ ...sessionView(s), current: actor.kind === 'user' && s.id === actor.sessionId }));
    },

    async revokeSession(actor: Actor, sessionId: string, caller: Caller): Promise<void> {
      const userId = requirePerson(actor);
      const session = await sessions.find(sessionId);
      if (!session || session.user_id !== userId || session.revoked_at) {
        throw new PlinthError('resource.not_found', 'No such active session');
      }
      await kernel.transaction(async () => {
        await sessions.revokeForUser(userId, { onlySessionId: sessionId, reason: 'revoked_by_user' });
        await audit()?.record(caller, { action: 'auth.session.revoked', target: { type: 'session', id: sessionId } });
      });
    },

    async revokeOtherSessions(actor: Actor, caller: Caller): Promise<number> {
      const userId = requirePerson(actor);
      return kernel.transaction(async () => {
        const revoked = await sessions.revokeForUser(userId, { exceptSessionId: actor.kind === 'user' ? actor.sessionId : undefined, reason: 'revoked_others' });
        await audit()?.record(caller, { action: 'auth.sessions.revoked_others', target: { type: 'user', id: userId }, data: { revoked } });
        return revoked;
      });
    },

    /** The actor of a Bearer header verified before (until its token expires), without waiting; else `undefined`. */
    authenticateNow,

    /** The `authenticate` hook: a Bearer access token, or an API key (`X-API-Key` or `Bearer plk_...`). */
    async authenticate(credentials: Credentials): Promise<Actor | null> {
      const known = authenticateNow(credentials);
      if (known) return known;
      const raw = credentials.authorization;
      const cacheable = raw !== undefined && credentials.apiKey === undefined;
      const caller: Caller = { actor: null, ip: credentials.ip, userAgent: credentials.userAgent };
      const header = raw?.trim();
      const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
      if (header && !bearer) throw identityError('auth.invalid_token', 'Use "Authorization: Bearer <token>"');
      const apiKey = credentials.apiKey ?? (bearer?.startsWith('plk_') ? bearer : undefined);
      if (apiKey) {
        if (!apiKeyAuthenticator) throw identityError('auth.api_key_invalid', 'API keys are not accepted here');
        return apiKeyAuthenticator(apiKey, caller);
      }
      if (!bearer) return null;
      const { claims, expiresAtMs } = await tokens.verifyWithExpiry(bearer);
      // A token verified before answers its cached claims: its actor is built once too.
      let actor = actors.get(claims);
      if (!actor) actors.set(claims, (actor = Object.freeze({ kind: 'user', userId: claims.userId, sessionId: claims.sessionId, roles: Object.freeze([...claims.roles]) })));
      // Only the usual spelling is kept: keys no longer than the token (no padded variants filling memory).
      if (cacheable && raw.length === bearer.length + 7 && raw.startsWith('Bearer ')) actorsByHeader.set(raw, { actor, expiresAtMs });
      return actor;
    },

    async rotateSigningKey(caller: Caller) {
      const key = await tokens.rotate();
      await audit()?.record(caller, { action: 'auth.signing_key.rotated', target: { type: 'signing_key', id: key.kid } });
      return key;
    },
  };
}

/** Parses one input field, or throws `validation.failed` naming it. */
function parseField<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const message = issue?.message ?? 'is not valid';
  throw new PlinthError('validation.failed', `The ${path} ${message}`, { errors: [{ path, message, code: issue?.code ?? 'invalid' }] });
}

function requireUser(actor: Actor): string {
  if (actor.kind === 'system') throw identityError('auth.invalid_token', 'This needs a user');
  return actor.userId;
}

/**
 * Sessions are a person's sign-ins: listing them shows where they sign in from, revoking them
 * signs the person out. An API key (whatever its scopes) may do neither (403), as with MFA,
 * the password and the account's export.
 */
function requirePerson(actor: Actor): string {
  if (actor.kind === 'api_key') throw forbidden('Sessions need a signed-in user, not an API key');
  return requireUser(actor);
}

export type IdentityService = ReturnType<typeof createIdentityService>;
export type { AuthMethod };
