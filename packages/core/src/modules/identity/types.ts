/**
 * Terminology and the seams between the identity files.
 *
 * - user: a row of `users`; `status` active | disabled | deleted (deleted rows are anonymized).
 * - session: one refresh-token family (`sessions`); an access token names it in `sid`.
 * - access token: a short-lived JWT (EdDSA, `kid` header, `typ: at+jwt`), verified from the
 *   in-memory key set without a database read.
 * - refresh token: `plr_` + 256 random bits (base64url); only its SHA-256 is stored; rotated on every use.
 * - caller: who asks and from where (actor, IP, user agent, request id) — what audit events record.
 */
import type { Actor } from '../../auth.js';
import type { Tokens, User } from '../../contract/identity.js';

export interface Caller {
  actor: Actor | null;
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
}

/** A `users` row as stored. */
export interface UserRow {
  id: string;
  email: string;
  /** `email` fully lower-cased: unique, and what lookups use. */
  email_key: string;
  name: string | null;
  status: 'active' | 'disabled' | 'deleted';
  email_verified_at: string | null;
  mfa_enabled: unknown;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  version: number;
}

export interface SessionView {
  id: string;
  userAgent: string | null;
  ip: string | null;
  authMethod: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
}

export type AuthMethod = 'password' | 'mfa' | `oidc:${string}`;

/** What the identity core offers the other identity files (MFA, email flows, account, OIDC, API keys) and the access module. */
export interface IdentityCore {
  /** The API shape of a user, with their roles. */
  toUser(row: UserRow): Promise<User>;
  findUserById(id: string): Promise<UserRow | undefined>;
  findUserByEmail(email: string): Promise<UserRow | undefined>;
  /** Creates a session for a signed-in user and answers its tokens (in the current transaction, if any). */
  issueSession(user: UserRow, method: AuthMethod, caller: Caller): Promise<Tokens>;
  /** A user's active sessions (API shape), newest first. */
  listUserSessions(userId: string): Promise<SessionView[]>;
  /** Revokes a user's sessions (all, or all but one); answers how many. */
  revokeSessions(userId: string, options: { exceptSessionId?: string; reason: string }): Promise<number>;
  /** Argon2id with the configured parameters. */
  hashPassword(password: string): Promise<string>;
  verifyPassword(hash: string, password: string): Promise<boolean>;
  /** Throws `auth.weak_password` for a common password (length is checked by the schema). */
  assertStrongPassword(password: string, email?: string): void;
}
