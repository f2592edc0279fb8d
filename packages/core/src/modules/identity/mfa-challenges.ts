import type { KernelContext } from '../../module.js';
import { identityError } from './errors.js';
import { newOpaqueToken, sha256 } from './secure-token.js';
import type { Caller } from './types.js';

const TTL_MS = 5 * 60 * 1000;
const MAX_ATTEMPTS = 5;

/**
 * The token between the two steps of an MFA sign-in: opaque, stored hashed,
 * valid 5 minutes, at most 5 code attempts, used once.
 */
export function createMfaChallenges(kernel: KernelContext) {
  return {
    async create(userId: string, caller: Caller): Promise<{ mfaToken: string; expiresIn: number }> {
      const token = newOpaqueToken('plm');
      const now = kernel.clock.now();
      await kernel.db
        .insertInto('mfa_challenges')
        .values({
          id: kernel.ids.next(),
          user_id: userId,
          token_hash: sha256(token),
          attempts: 0,
          ip: caller.ip ?? null,
          user_agent: caller.userAgent?.slice(0, 512) ?? null,
          created_at: new Date(now).toISOString(),
          expires_at: new Date(now + TTL_MS).toISOString(),
          used_at: null,
        })
        .execute();
      return { mfaToken: token, expiresIn: TTL_MS / 1000 };
    },

    /**
     * Counts an attempt on a live challenge and answers its user id. Call inside
     * a transaction; mark it used with `consume` once the code checks out.
     */
    async open(token: string): Promise<{ id: string; userId: string }> {
      const invalid = () => identityError('auth.mfa_challenge_invalid', 'The MFA sign-in has expired or is not valid; sign in again');
      if (!/^plm_[A-Za-z0-9_-]{43}$/.test(token)) throw invalid();
      const row = await kernel.storage
        .forUpdate(kernel.db.selectFrom('mfa_challenges').selectAll().where('token_hash', '=', sha256(token)))
        .executeTakeFirst();
      if (!row || row.used_at || Date.parse(row.expires_at) <= kernel.clock.now() || row.attempts >= MAX_ATTEMPTS) throw invalid();
      await kernel.db.updateTable('mfa_challenges').set({ attempts: row.attempts + 1 }).where('id', '=', row.id).execute();
      return { id: row.id, userId: row.user_id };
    },

    async consume(id: string): Promise<void> {
      await kernel.db.updateTable('mfa_challenges').set({ used_at: new Date(kernel.clock.now()).toISOString() }).where('id', '=', id).execute();
    },
  };
}

export type MfaChallenges = ReturnType<typeof createMfaChallenges>;
