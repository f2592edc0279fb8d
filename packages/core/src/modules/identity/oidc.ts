/**
 * OpenID Connect sign-in: authorization code + PKCE (S256) against providers
 * named in `auth.oidc` (the protocol steps are in `oidc-client.ts`).
 *
 * - start: discovery document (cached per provider, `issuer` must equal the
 *   configured one) → a row in `oidc_states` holding the SHA-256 of `state`, the
 *   `nonce`, the PKCE verifier (encrypted) and the optional `redirectTo` (same
 *   origin as `appUrl` only) → the provider's authorization URL.
 * - callback: the state is consumed (single use, 10 minutes, bound to its
 *   provider), the code is exchanged with the verifier, the ID token verified
 *   (see `verifyIdToken`), UserInfo asked for the email when the ID token has
 *   none, then the account is found or created and a session issued.
 *
 * Linking rules:
 * - a known (provider, subject) signs in to its user, whatever the email says now;
 * - otherwise only a verified email (`email_verified === true`) may link to an
 *   existing account or create one. An unverified email is refused
 *   (`auth.oidc_failed`, reason `email_not_verified`): linking on it would hand
 *   the account to whoever typed that address at the provider, and creating an
 *   account on it would let them squat the address before its owner signs up.
 * - disabled accounts are refused (403 `auth.account_disabled`), and are not linked.
 * - MFA: the provider authenticated the user, so an account with TOTP enabled
 *   signs in without a second Plinth step. Operators who need MFA for OIDC
 *   users enforce it at the provider.
 */
import type { JWTPayload } from 'jose';
import type { Actor } from '../../auth.js';
import { normalizeEmail, type Tokens } from '../../contract/identity.js';
import { PlinthError } from '../../errors.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import { identityError } from './errors.js';
import {
  type Discovery,
  exchangeCode,
  fetchDiscovery,
  OidcFailure,
  type OidcProviderConfig,
  pkceChallenge,
  randomToken,
  safeCode,
  verifyIdToken,
  withUserInfo,
} from './oidc-client.js';
import { sha256 } from './secure-token.js';
import type { Caller, IdentityCore, UserRow } from './types.js';
import { emailKey } from './users.js';

export type { OidcFailureReason } from './oidc-client.js';

export interface OidcCallbackInput {
  code?: string | undefined;
  state?: string | undefined;
  /** The provider's `error` parameter (the user declined, ...). */
  error?: string | undefined;
}

export interface OidcSignIn {
  tokens: Tokens;
  /** Where `start` was asked to send the browser afterwards; `null` answers the tokens as JSON. */
  redirectTo: string | null;
}

export interface OidcService {
  /** Starts a sign-in: the provider's authorization URL to send the browser to. */
  start(provider: string, redirectTo: string | undefined, caller: Caller): Promise<string>;
  /** Finishes a sign-in from the provider's redirect: the session's tokens. */
  callback(provider: string, input: OidcCallbackInput, caller: Caller): Promise<OidcSignIn>;
}

interface StateRow {
  state_hash: string;
  provider: string;
  nonce: string;
  code_verifier: string;
  redirect_to: string | null;
  created_at: string;
  expires_at: string;
}

/** How long a started sign-in may take at the provider (and the oldest ID token accepted). */
const STATE_TTL_MS = 10 * 60_000;
/** Discovery documents are fetched again after this long (keys rotate through the JWKS on their own). */
const DISCOVERY_TTL_MS = 60 * 60_000;

const iso = (ms: number) => new Date(ms).toISOString();
/** The encryption context of a stored verifier: it decrypts only for its own state row. */
/** Encryption context of a PKCE verifier (binds the ciphertext to its state row). */
export const verifierContext = (stateHash: string) => `oidc_states.code_verifier:${stateHash}`;
const stateInvalid = () => new OidcFailure('state_invalid', 'The sign-in is unknown, used already or expired; start again');

/** `redirectTo` with the tokens in its fragment (never the query: fragments stay out of logs and Referer). */
export function tokenFragmentUrl(redirectTo: string, tokens: Tokens): string {
  const url = new URL(redirectTo);
  url.hash = new URLSearchParams({
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    expires_in: String(tokens.expiresIn),
    token_type: tokens.tokenType,
  }).toString();
  return url.href;
}

export function createOidcService(kernel: KernelContext, core: IdentityCore): OidcService {
  const providers = kernel.config.auth.oidc as Readonly<Record<string, OidcProviderConfig>>;
  const appOrigin = new URL(kernel.config.appUrl).origin;
  const log = kernel.logger.child({ component: 'oidc' });
  const discoveries = new Map<string, { expires: number; value: Promise<Discovery> }>();
  const audit = (): AuditService | undefined => kernel.optionalService<AuditService>('audit');

  function providerConfig(name: string): OidcProviderConfig {
    const config = Object.hasOwn(providers, name) ? providers[name] : undefined;
    if (!config) throw identityError('auth.oidc_unknown_provider', `No OpenID provider named "${name}" is configured`);
    return config;
  }

  function redirectUriOf(name: string, config: OidcProviderConfig): string {
    return config.redirectUri ?? `${kernel.config.appUrl.replace(/\/+$/, '')}/v1/auth/oidc/${name}/callback`;
  }

  /** `redirectTo` resolved against `appUrl`; only the app's own origin, so the flow is no open redirect. */
  function allowedRedirect(redirectTo: string): string {
    const url = URL.parse(redirectTo, `${appOrigin}/`);
    if (!url || url.origin !== appOrigin || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new OidcFailure('redirect_not_allowed', 'redirectTo must be on the app origin (appUrl)');
    }
    url.hash = '';
    return url.href;
  }

  /** The provider's discovery, fetched once per provider and hour; a failure is not cached. */
  function discovery(name: string, config: OidcProviderConfig): Promise<Discovery> {
    const cached = discoveries.get(name);
    if (cached && cached.expires > kernel.clock.now()) return cached.value;
    const value = fetchDiscovery(config);
    discoveries.set(name, { expires: kernel.clock.now() + DISCOVERY_TTL_MS, value });
    value.catch(() => {
      if (discoveries.get(name)?.value === value) discoveries.delete(name);
    });
    return value;
  }

  /** Takes the state row out of the table: whoever deletes it owns it, so a replay finds nothing. */
  async function consumeState(name: string, state: string): Promise<StateRow> {
    const stateHash = sha256(state);
    const row = (await kernel.db.selectFrom('oidc_states').selectAll().where('state_hash', '=', stateHash).executeTakeFirst()) as StateRow | undefined;
    if (!row) throw stateInvalid();
    const deleted = await kernel.db.deleteFrom('oidc_states').where('state_hash', '=', stateHash).executeTakeFirst();
    if (Number(deleted.numDeletedRows) !== 1 || row.provider !== name || Date.parse(row.expires_at) <= kernel.clock.now()) throw stateInvalid();
    return row;
  }

  /** A new account for a verified provider email (no password: it signs in through the provider). */
  async function createUser(email: string, name: string | null): Promise<UserRow> {
    const now = iso(kernel.clock.now());
    const row: UserRow = {
      id: kernel.ids.next(),
      email,
      email_key: emailKey(email),
      name,
      status: 'active',
      email_verified_at: now,
      mfa_enabled: false,
      created_at: now,
      updated_at: now,
      deleted_at: null,
      version: 1,
    };
    await kernel.db.insertInto('users').values(row).execute();
    await kernel.emit({ type: 'user.signed_up', aggregate: { type: 'user', id: row.id }, payload: { userId: row.id } });
    await kernel.optionalService<{ grantDefaultRole(userId: string): Promise<void> }>('access')?.grantDefaultRole(row.id);
    return (await core.findUserById(row.id)) ?? row;
  }

  /** Finds, links or creates the account behind verified claims and issues a session, in one transaction. */
  async function signIn(name: string, claims: JWTPayload, caller: Caller): Promise<Tokens> {
    const subject = claims.sub!;
    return kernel.transaction(async () => {
      const db = kernel.db;
      const link = await db.selectFrom('oidc_identities').select('user_id').where('provider', '=', name).where('subject', '=', subject).executeTakeFirst();
      let user = link ? await core.findUserById(link.user_id as string) : undefined;
      if (link && !user) {
        // The account was deleted: the link is stale, and this sign-in starts over.
        await db.deleteFrom('oidc_identities').where('provider', '=', name).where('subject', '=', subject).execute();
      }
      let linkedBy: 'email' | 'new_account' | undefined;
      if (!user) {
        const rawEmail = typeof claims.email === 'string' ? claims.email.trim() : '';
        if (!rawEmail || rawEmail.length > 254 || !rawEmail.includes('@')) throw new OidcFailure('email_missing', 'The provider shared no email address');
        if (claims.email_verified !== true) throw new OidcFailure('email_not_verified', 'The provider has not verified this email address');
        const email = normalizeEmail(rawEmail);
        user = await core.findUserByEmail(email);
        if (user?.status === 'disabled') throw identityError('auth.account_disabled', 'This account is disabled');
        linkedBy = user ? 'email' : 'new_account';
        const displayName = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 100) : null;
        user ??= await createUser(email, displayName);
        await db.insertInto('oidc_identities').values({ provider: name, subject, user_id: user.id, email, created_at: iso(kernel.clock.now()) }).execute();
      }
      if (user.status === 'disabled') throw identityError('auth.account_disabled', 'This account is disabled');
      const self: Caller = { ...caller, actor: { kind: 'user', userId: user.id, sessionId: '', roles: [] } satisfies Actor };
      if (linkedBy) {
        await audit()?.record(self, { action: 'auth.oidc.linked', target: { type: 'user', id: user.id }, data: { provider: name, subject, by: linkedBy } });
      }
      const tokens = await core.issueSession(user, `oidc:${name}`, self);
      await audit()?.record(self, { action: 'auth.oidc.signed_in', target: { type: 'user', id: user.id }, data: { provider: name, subject } });
      return tokens;
    });
  }

  /** Two first sign-ins of one subject (or a sign-up racing one) collide on a unique key: the second looks again. */
  async function signInOnce(name: string, claims: JWTPayload, caller: Caller): Promise<Tokens> {
    try {
      return await signIn(name, claims, caller);
    } catch (error) {
      if ((error as PlinthError).code !== 'storage.conflict') throw error;
      return signIn(name, claims, caller);
    }
  }

  /** Logs a failure (and audits it when `audited`, outside the failed transaction), then throws its problem. */
  async function fail(name: string, error: unknown, caller: Caller, audited: boolean): Promise<never> {
    const expected = error instanceof OidcFailure || (error instanceof PlinthError && error.status < 500);
    if (expected) {
      const reason = error instanceof OidcFailure ? error.reason : (error as PlinthError).code;
      log.info({ provider: name, reason, ...(error instanceof OidcFailure ? error.extra : {}), requestId: caller.requestId }, 'oidc sign-in failed');
      if (audited) {
        await audit()
          ?.record(caller, { action: 'auth.oidc.failed', data: { provider: name, reason } })
          .catch((auditError: Error) => log.warn({ err: auditError.message }, 'could not audit a failed oidc sign-in'));
      }
    }
    if (error instanceof OidcFailure) throw identityError('auth.oidc_failed', error.message, { details: { reason: error.reason } });
    throw error;
  }

  return {
    async start(name, redirectTo, caller) {
      const config = providerConfig(name);
      try {
        const target = redirectTo === undefined || redirectTo === '' ? null : allowedRedirect(redirectTo);
        const doc = await discovery(name, config);
        const [state, nonce, verifier] = [randomToken(), randomToken(), randomToken()];
        const stateHash = sha256(state);
        const now = kernel.clock.now();
        await kernel.db.deleteFrom('oidc_states').where('expires_at', '<', iso(now)).execute();
        await kernel.db
          .insertInto('oidc_states')
          .values({
            state_hash: stateHash,
            provider: name,
            nonce,
            code_verifier: kernel.secrets.encrypt(verifier, verifierContext(stateHash)),
            redirect_to: target,
            created_at: iso(now),
            expires_at: iso(now + STATE_TTL_MS),
          })
          .execute();
        const url = new URL(doc.authorizationEndpoint);
        const scopes = config.scopes.includes('openid') ? config.scopes : ['openid', ...config.scopes];
        const params = {
          response_type: 'code',
          client_id: config.clientId,
          redirect_uri: redirectUriOf(name, config),
          scope: scopes.join(' '),
          state,
          nonce,
          code_challenge: pkceChallenge(verifier),
          code_challenge_method: 'S256',
        };
        for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
        return url.href;
      } catch (error) {
        // Not audited: nobody is signing in yet (a bad redirectTo, a provider down).
        return fail(name, error, caller, false);
      }
    },

    async callback(name, input, caller) {
      const config = providerConfig(name);
      try {
        if (input.error !== undefined) {
          if (input.state) await consumeState(name, input.state).catch(() => undefined);
          throw new OidcFailure('provider_error', 'The OpenID provider did not sign the user in', { error: safeCode(input.error) });
        }
        if (!input.state || !input.code) throw new OidcFailure('invalid_request', 'The callback needs code and state');
        const row = await consumeState(name, input.state);
        const verifier = kernel.secrets.decrypt(row.code_verifier, verifierContext(row.state_hash));
        const doc = await discovery(name, config);
        const { idToken, accessToken } = await exchangeCode(config, doc, { code: input.code, verifier, redirectUri: redirectUriOf(name, config) });
        const verified = await verifyIdToken(config, doc, idToken, { nonce: row.nonce, now: kernel.clock.now(), maxAgeSeconds: STATE_TTL_MS / 1000 });
        const claims = await withUserInfo(doc, verified, accessToken);
        const tokens = await signInOnce(name, claims, caller);
        return { tokens, redirectTo: row.redirect_to };
      } catch (error) {
        return fail(name, error, caller, true);
      }
    },
  };
}

