/**
 * TOTP multi-factor authentication (RFC 6238; primitives in `totp.ts`).
 *
 * - enroll: a fresh 160-bit secret, stored encrypted (secret box, context
 *   `totp:<userId>`) and unconfirmed; answered once as base32 and as an
 *   `otpauth://` URI. Enrolling again before confirming replaces it.
 * - confirm: a code of that secret turns MFA on (`users.mfa_enabled`, version
 *   bumped) and answers 10 recovery codes, once; only their hashes are kept.
 * - verify (second sign-in step): the MFA challenge from `signIn` plus a TOTP
 *   code or an unused recovery code → a session (`auth_method = 'mfa'`).
 * - disable: needs a current TOTP code **or** an unused recovery code — someone
 *   who lost the phone signs in with a recovery code and must be able to turn
 *   MFA off and enroll a new device. Removes the secret and every recovery code.
 *
 * Replay: each accepted TOTP code stores its time step (`last_step`) in the
 * transaction that accepts it, under a row lock; only later steps are accepted
 * afterwards, so no code — nor an earlier one — works twice, even for two
 * concurrent requests. At most one step of clock skew either way.
 *
 * Brute force: a challenge allows 5 attempts. Wrong codes at verify and disable
 * also count in the identity throttle under `mfa:<userId>` (the account
 * threshold, `auth.lockoutAccountFailures`) and `ip:<address>`. The `mfa:` key
 * is separate from `account:<email>` on purpose: a correct password resets the
 * account key, which would hand whoever knows the password 4 fresh guesses per
 * sign-in; only a correct second factor resets the `mfa:` key. While it is
 * locked, verify and disable answer 429 `auth.account_locked`.
 *
 * API keys cannot change MFA settings (403): that needs a user's access token.
 */
import { type Actor, forbidden, unauthenticated } from '../../auth.js';
import type { Tokens } from '../../contract/identity.js';
import type { PlinthError } from '../../errors.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import { identityError } from './errors.js';
import type { MfaChallenges } from './mfa-challenges.js';
import { canonicalRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeHash } from './recovery-codes.js';
import type { Throttle } from './throttle.js';
import { matchTotp, newTotpSecret, totpIssuer, totpSecretContext, totpUri } from './totp.js';
import type { Caller, IdentityCore, UserRow } from './types.js';

export interface TotpEnrollment {
  /** Base32, for typing into an app by hand. */
  secret: string;
  /** `otpauth://totp/<issuer>:<email>?secret=...`; render it with `totpQrCode` for a terminal. */
  otpauthUri: string;
}

export interface MfaStatus {
  enabled: boolean;
  /** An enrollment waits for its confirming code. */
  pending: boolean;
  recoveryCodesLeft: number;
}

export interface MfaService {
  /** Starts (or restarts) TOTP enrollment for the signed-in user. 409 `auth.mfa_already_enabled` when on. */
  enroll(caller: Caller): Promise<TotpEnrollment>;
  /** Turns MFA on with a code of the enrolled secret; answers the recovery codes (shown once). */
  confirm(code: string, caller: Caller): Promise<{ recoveryCodes: string[] }>;
  /** Turns MFA off; needs a current TOTP code or an unused recovery code. */
  disable(code: string, caller: Caller): Promise<void>;
  /** The second sign-in step: the challenge token from `signIn` and a code. */
  verify(input: { mfaToken: string; code: string }, caller: Caller): Promise<Tokens>;
  status(userId: string): Promise<MfaStatus>;
}

export interface MfaDeps {
  core: Pick<IdentityCore, 'findUserById' | 'issueSession'>;
  throttle: Throttle;
  challenges: MfaChallenges;
  audit: () => AuditService | undefined;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: PlinthError };
type Factor = 'totp' | 'recovery_code';

const invalidCode = () => identityError('auth.invalid_mfa_code', 'The code is not correct, or was already used');
const challengeInvalid = () => identityError('auth.mfa_challenge_invalid', 'The MFA sign-in has expired or is not valid; sign in again');
const locked = (retryAfter: number) =>
  identityError('auth.account_locked', 'Too many wrong codes; try again later', { details: { retryAfter } });

export function createMfaService(kernel: KernelContext, deps: MfaDeps): MfaService {
  const { core, throttle, challenges, audit } = deps;
  const issuer = totpIssuer(kernel.config.appUrl);
  const iso = () => new Date(kernel.clock.now()).toISOString();
  const enabled = (user: UserRow) => kernel.storage.fromBoolean(user.mfa_enabled);
  const target = (user: UserRow) => ({ type: 'user', id: user.id });
  const mfaKey = (userId: string) => `mfa:${userId}`;
  const throttleKeys = (userId: string, caller: Caller) => [
    { key: mfaKey(userId), kind: 'account' as const },
    ...(caller.ip ? [{ key: `ip:${caller.ip}`, kind: 'ip' as const }] : []),
  ];

  /** The user row, locked for this transaction: enroll, confirm and disable of one user run one after another. */
  async function lockActiveUser(userId: string): Promise<UserRow> {
    const user = (await kernel.storage
      .forUpdate(kernel.db.selectFrom('users').selectAll().where('id', '=', userId).where('status', '!=', 'deleted'))
      .executeTakeFirst()) as UserRow | undefined;
    if (!user) throw identityError('auth.invalid_token', 'This account no longer exists');
    if (user.status !== 'active') throw identityError('auth.account_disabled', 'This account is disabled');
    return user;
  }

  async function setEnabled(user: UserRow, on: boolean): Promise<void> {
    await kernel.db
      .updateTable('users')
      .set({ mfa_enabled: on, version: Number(user.version) + 1, updated_at: iso() })
      .where('id', '=', user.id)
      .execute();
  }

  /**
   * Checks a TOTP code (6 digits) or a recovery code and uses it up: the TOTP
   * step is stored, the recovery code marked used, in the caller's transaction.
   */
  async function useSecondFactor(userId: string, code: string): Promise<Factor | null> {
    const typed = code.trim();
    if (/^\d{6}$/.test(typed)) {
      const credential = await kernel.storage
        .forUpdate(kernel.db.selectFrom('totp_credentials').select(['secret', 'last_step']).where('user_id', '=', userId).where('confirmed_at', 'is not', null))
        .executeTakeFirst();
      if (!credential) return null;
      const secret = kernel.secrets.decrypt(credential.secret, totpSecretContext(userId));
      const step = matchTotp(secret, typed, kernel.clock.now(), credential.last_step === null ? null : Number(credential.last_step));
      if (step === null) return null;
      await kernel.db.updateTable('totp_credentials').set({ last_step: step }).where('user_id', '=', userId).execute();
      return 'totp';
    }
    const canonical = canonicalRecoveryCode(typed);
    if (!canonical) return null;
    const used = await kernel.db
      .updateTable('recovery_codes')
      .set({ used_at: iso() })
      .where('user_id', '=', userId)
      .where('code_hash', '=', recoveryCodeHash(userId, canonical))
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(used.numUpdatedRows) > 0 ? 'recovery_code' : null;
  }

  async function recoveryCodesLeft(userId: string): Promise<number> {
    const row = await kernel.db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** A wrong code: counted in the throttle and audited, in the caller's transaction (which must commit). */
  async function countFailure(user: UserRow, caller: Caller, stage: 'sign_in' | 'disable'): Promise<void> {
    const lockouts = await throttle.fail(throttleKeys(user.id, caller));
    await audit()?.record(caller, { action: 'auth.mfa.failed', target: target(user), data: { stage, reason: 'invalid_code' } });
    for (const lock of lockouts) {
      await audit()?.record(caller, {
        action: 'auth.lockout',
        target: lock.kind === 'account' ? target(user) : undefined,
        data: { kind: lock.kind === 'account' ? 'mfa' : 'ip', key: lock.kind === 'account' ? user.email : caller.ip, seconds: lock.seconds },
      });
    }
  }

  return {
    async enroll(caller) {
      const userId = signedInUser(caller.actor);
      const secret = newTotpSecret();
      return kernel.transaction(async () => {
        const user = await lockActiveUser(userId);
        if (enabled(user)) throw identityError('auth.mfa_already_enabled', 'MFA is already on; turn it off first to enroll another device');
        await kernel.db.deleteFrom('totp_credentials').where('user_id', '=', userId).execute();
        await kernel.db
          .insertInto('totp_credentials')
          .values({ user_id: userId, secret: kernel.secrets.encrypt(secret, totpSecretContext(userId)), created_at: iso(), confirmed_at: null, last_step: null })
          .execute();
        await audit()?.record(caller, { action: 'auth.mfa.enrollment_started', target: target(user) });
        return { secret, otpauthUri: totpUri({ issuer, label: user.email, secret }) };
      });
    },

    async confirm(code, caller) {
      const userId = signedInUser(caller.actor);
      const recoveryCodes = await kernel.transaction(async () => {
        const user = await lockActiveUser(userId);
        if (enabled(user)) throw identityError('auth.mfa_already_enabled', 'MFA is already on');
        const credential = await kernel.storage
          .forUpdate(kernel.db.selectFrom('totp_credentials').select(['secret', 'last_step']).where('user_id', '=', userId))
          .executeTakeFirst();
        if (!credential) throw identityError('auth.mfa_not_enrolled', 'Start TOTP enrollment first (POST /v1/me/mfa/totp)');
        const secret = kernel.secrets.decrypt(credential.secret, totpSecretContext(userId));
        const lastStep = credential.last_step === null ? null : Number(credential.last_step);
        const step = matchTotp(secret, code.trim(), kernel.clock.now(), lastStep);
        if (step === null) throw invalidCode(); // nothing to keep: the transaction may roll back
        const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
        await kernel.db.updateTable('totp_credentials').set({ confirmed_at: iso(), last_step: step }).where('user_id', '=', userId).execute();
        await setEnabled(user, true);
        await kernel.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        await kernel.db
          .insertInto('recovery_codes')
          .values(codes.map((c) => ({ id: kernel.ids.next(), user_id: userId, code_hash: recoveryCodeHash(userId, canonicalRecoveryCode(c)!), used_at: null })))
          .execute();
        await audit()?.record(caller, { action: 'auth.mfa.enabled', target: target(user), data: { method: 'totp', recoveryCodes: codes.length } });
        return codes;
      });
      return { recoveryCodes };
    },

    async disable(code, caller) {
      const userId = signedInUser(caller.actor);
      const outcome = await kernel.transaction(async (): Promise<Outcome<null>> => {
        const user = await lockActiveUser(userId);
        if (!enabled(user)) throw identityError('auth.mfa_not_enabled', 'MFA is not on');
        const state = await throttle.check(throttleKeys(userId, caller).map((k) => k.key));
        if (state.locked) return { ok: false, error: locked(state.retryAfter) };
        const factor = await useSecondFactor(userId, code);
        if (!factor) {
          await countFailure(user, caller, 'disable');
          return { ok: false, error: invalidCode() };
        }
        await kernel.db.deleteFrom('totp_credentials').where('user_id', '=', userId).execute();
        await kernel.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        await kernel.db.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
        await setEnabled(user, false);
        await throttle.reset(mfaKey(userId));
        await audit()?.record(caller, { action: 'auth.mfa.disabled', target: target(user), data: { factor } });
        return { ok: true, value: null };
      });
      if (!outcome.ok) throw outcome.error;
    },

    async verify(input, caller) {
      // The attempt count and the throttle must survive a wrong code: failures are answered, not thrown, inside.
      const outcome = await kernel.transaction(async (): Promise<Outcome<Tokens>> => {
        const challenge = await challenges.open(input.mfaToken); // throws before counting when the challenge is dead
        const user = await core.findUserById(challenge.userId);
        if (!user || !enabled(user)) {
          await challenges.consume(challenge.id);
          return { ok: false, error: challengeInvalid() };
        }
        const self: Caller = { ...caller, actor: { kind: 'user', userId: user.id, sessionId: '', roles: [] } };
        if (user.status !== 'active') {
          await challenges.consume(challenge.id);
          await audit()?.record(caller, { action: 'auth.sign_in.failed', target: target(user), data: { reason: 'disabled', method: 'mfa' } });
          return { ok: false, error: identityError('auth.account_disabled', 'This account is disabled') };
        }
        const state = await throttle.check(throttleKeys(user.id, caller).map((k) => k.key));
        if (state.locked) {
          await audit()?.record(caller, { action: 'auth.mfa.failed', target: target(user), data: { stage: 'sign_in', reason: 'locked' } });
          return { ok: false, error: locked(state.retryAfter) };
        }
        const factor = await useSecondFactor(user.id, input.code);
        if (!factor) {
          await countFailure(user, caller, 'sign_in');
          return { ok: false, error: invalidCode() };
        }
        await challenges.consume(challenge.id);
        await throttle.reset(mfaKey(user.id));
        const tokens = await core.issueSession(user, 'mfa', self);
        const data: Record<string, unknown> = { method: 'mfa', factor };
        if (factor === 'recovery_code') data.recoveryCodesLeft = await recoveryCodesLeft(user.id);
        await audit()?.record(self, { action: 'auth.sign_in.succeeded', target: target(user), data });
        return { ok: true, value: tokens };
      });
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    },

    async status(userId) {
      const user = await core.findUserById(userId);
      const credential = await kernel.db.selectFrom('totp_credentials').select('confirmed_at').where('user_id', '=', userId).executeTakeFirst();
      return {
        enabled: user ? enabled(user) : false,
        pending: credential !== undefined && credential.confirmed_at === null,
        recoveryCodesLeft: await recoveryCodesLeft(userId),
      };
    },
  };
}

/** MFA settings belong to a signed-in user; an API key may not change them. */
function signedInUser(actor: Actor | null): string {
  if (actor?.kind === 'user') return actor.userId;
  if (actor?.kind === 'api_key') throw forbidden('MFA settings need a signed-in user, not an API key');
  throw unauthenticated('Sign in first');
}
