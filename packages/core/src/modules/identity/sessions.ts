import type { Kysely } from 'kysely';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import { compileOnce } from '../../storage/compile-once.js';
import { identityError } from './errors.js';
import { newOpaqueToken, sha256 } from './secure-token.js';
import type { AuthMethod, Caller, UserRow } from './types.js';

export interface SessionRow {
  id: string;
  user_id: string;
  user_agent: string | null;
  ip: string | null;
  auth_method: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
}

export type RefreshOutcome =
  | { ok: true; user: UserRow; sessionId: string; refreshToken: string }
  | { ok: false; code: 'auth.refresh_token_invalid' | 'auth.refresh_token_reused' | 'auth.session_revoked' | 'auth.account_disabled' };

/**
 * Sessions are refresh-token families. A refresh token works once: using it
 * rotates it. Presenting a rotated token again means it leaked — the whole
 * family is revoked — except for the immediately previous token within a short
 * grace window (two tabs refreshing at once).
 */
export function createSessionStore(kernel: KernelContext, audit: () => AuditService | undefined) {
  const { refreshTokenTtlSeconds, refreshReuseGraceSeconds } = kernel.config.auth;
  const iso = (ms: number) => new Date(ms).toISOString();

  // The two inserts of every sign-in and refresh, compiled once.
  const insertTokenRow = compileOnce(['id', 'sessionId', 'tokenHash', 'createdAt', 'expiresAt'], (v) =>
    kernel.storage.db
      .insertInto('refresh_tokens')
      .values({ id: v.id, session_id: v.sessionId, token_hash: v.tokenHash, created_at: v.createdAt, expires_at: v.expiresAt, rotated_at: null }),
  );
  const insertSessionRow = compileOnce(['id', 'userId', 'userAgent', 'ip', 'method', 'createdAt', 'expiresAt'], (v) =>
    kernel.storage.db.insertInto('sessions').values({
      id: v.id,
      user_id: v.userId,
      user_agent: v.userAgent,
      ip: v.ip,
      auth_method: v.method,
      created_at: v.createdAt,
      last_used_at: v.createdAt,
      expires_at: v.expiresAt,
      revoked_at: null,
      revoked_reason: null,
    }),
  );

  async function insertToken(db: Kysely<any>, sessionId: string): Promise<string> {
    const token = newOpaqueToken('plr');
    const now = kernel.clock.now();
    await insertTokenRow.run(db, { id: kernel.ids.next(), sessionId, tokenHash: sha256(token), createdAt: iso(now), expiresAt: iso(now + refreshTokenTtlSeconds * 1000) });
    return token;
  }

  return {
    /** A new session and its first refresh token (joins the current transaction). */
    async create(userId: string, method: AuthMethod, caller: Caller): Promise<{ sessionId: string; refreshToken: string }> {
      return kernel.transaction(async (tx) => {
        const now = kernel.clock.now();
        const sessionId = kernel.ids.next();
        await insertSessionRow.run(tx.db, {
          id: sessionId,
          userId,
          userAgent: caller.userAgent?.slice(0, 512) ?? null,
          ip: caller.ip ?? null,
          method,
          createdAt: iso(now),
          expiresAt: iso(now + refreshTokenTtlSeconds * 1000),
        });
        return { sessionId, refreshToken: await insertToken(tx.db, sessionId) };
      });
    },

    /**
     * Rotates a refresh token. Revocations caused by reuse must survive the
     * failed request, so they commit and the outcome is returned, not thrown.
     */
    async rotate(token: string, caller: Caller): Promise<RefreshOutcome> {
      if (!/^plr_[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false, code: 'auth.refresh_token_invalid' };
      return kernel.transaction(async (tx) => {
        const now = kernel.clock.now();
        const found = await tx.db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst();
        if (!found || Date.parse(found.expires_at) <= now) return { ok: false, code: 'auth.refresh_token_invalid' } as const;
        // Lock the family: concurrent refreshes of one session run one after the other.
        const session = (await kernel.storage
          .forUpdate(tx.db.selectFrom('sessions').selectAll().where('id', '=', found.session_id))
          .executeTakeFirst()) as SessionRow | undefined;
        if (!session || session.revoked_at || Date.parse(session.expires_at) <= now) return { ok: false, code: 'auth.session_revoked' } as const;
        const token$ = await tx.db.selectFrom('refresh_tokens').select(['rotated_at']).where('id', '=', found.id).executeTakeFirstOrThrow();
        if (token$.rotated_at) {
          const newestRotated = await tx.db
            .selectFrom('refresh_tokens')
            .select('id')
            .where('session_id', '=', session.id)
            .where('rotated_at', 'is not', null)
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst();
          const inGrace = now - Date.parse(token$.rotated_at) <= refreshReuseGraceSeconds * 1000;
          if (!(inGrace && newestRotated?.id === found.id)) {
            await revokeWhere(tx.db, [session.id], 'refresh_token_reused');
            await audit()?.record(caller, {
              action: 'auth.refresh_token.reused',
              target: { type: 'session', id: session.id },
              data: { userId: session.user_id, familyRevoked: true },
            });
            return { ok: false, code: 'auth.refresh_token_reused' } as const;
          }
        }
        const user = (await tx.db.selectFrom('users').selectAll().where('id', '=', session.user_id).executeTakeFirst()) as UserRow | undefined;
        if (!user || user.status !== 'active') {
          await revokeWhere(tx.db, [session.id], 'account_disabled');
          return { ok: false, code: 'auth.account_disabled' } as const;
        }
        // Rotate the head of the family (the presented token, or its successor inside the grace window).
        await tx.db.updateTable('refresh_tokens').set({ rotated_at: new Date(now).toISOString() }).where('session_id', '=', session.id).where('rotated_at', 'is', null).execute();
        await tx.db.updateTable('sessions').set({ last_used_at: new Date(now).toISOString(), ip: caller.ip ?? session.ip }).where('id', '=', session.id).execute();
        return { ok: true, user, sessionId: session.id, refreshToken: await insertToken(tx.db, session.id) } as const;
      });
    },

    async list(userId: string): Promise<SessionRow[]> {
      const now = new Date(kernel.clock.now()).toISOString();
      return (await kernel.db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('id', 'desc')
        .limit(500)
        .execute()) as SessionRow[];
    },

    async find(sessionId: string): Promise<SessionRow | undefined> {
      return (await kernel.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst()) as SessionRow | undefined;
    },

    /** Revokes sessions of a user (all, or all but one); answers how many were active. */
    async revokeForUser(userId: string, options: { exceptSessionId?: string | undefined; onlySessionId?: string | undefined; reason: string }): Promise<number> {
      let q = kernel.db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null);
      if (options.exceptSessionId) q = q.where('id', '!=', options.exceptSessionId);
      if (options.onlySessionId) q = q.where('id', '=', options.onlySessionId);
      const ids = (await q.execute()).map((r: { id: string }) => r.id);
      await revokeWhere(kernel.db, ids, options.reason);
      return ids.length;
    },
  };

  async function revokeWhere(db: Kysely<any>, sessionIds: string[], reason: string): Promise<void> {
    if (!sessionIds.length) return;
    const now = new Date(kernel.clock.now()).toISOString();
    for (let i = 0; i < sessionIds.length; i += 500) {
      const chunk = sessionIds.slice(i, i + 500);
      await db.updateTable('sessions').set({ revoked_at: now, revoked_reason: reason }).where('id', 'in', chunk).where('revoked_at', 'is', null).execute();
      await db.updateTable('refresh_tokens').set({ rotated_at: now }).where('session_id', 'in', chunk).where('rotated_at', 'is', null).execute();
    }
  }
}

export type SessionStore = ReturnType<typeof createSessionStore>;

/** A session as the API shows it (no token material). */
export function sessionView(s: SessionRow) {
  return {
    id: s.id,
    userAgent: s.user_agent,
    ip: s.ip,
    authMethod: s.auth_method,
    createdAt: s.created_at,
    lastUsedAt: s.last_used_at,
    expiresAt: s.expires_at,
  };
}

export function sessionNotUsable(code: Exclude<RefreshOutcome, { ok: true }>['code']) {
  const messages = {
    'auth.refresh_token_invalid': 'The refresh token is not valid or has expired',
    'auth.refresh_token_reused': 'This refresh token was already used; the session has been revoked',
    'auth.session_revoked': 'The session has ended; sign in again',
    'auth.account_disabled': 'This account is disabled',
  } as const;
  return identityError(code, messages[code]);
}
