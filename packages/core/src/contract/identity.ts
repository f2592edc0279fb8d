import { z } from 'zod';
import { defineRoute } from './route.js';

/** Stable error codes of the identity module, with their HTTP status. */
export const identityErrors = {
  'auth.invalid_credentials': 401,
  'auth.invalid_token': 401,
  'auth.session_revoked': 401,
  'auth.refresh_token_invalid': 401,
  'auth.refresh_token_reused': 401,
  'auth.account_locked': 429,
  'auth.account_disabled': 403,
  'auth.email_taken': 409,
  'auth.weak_password': 422,
  'auth.wrong_password': 403,
  'auth.invalid_mfa_code': 401,
  'auth.mfa_challenge_invalid': 401,
  'auth.mfa_already_enabled': 409,
  'auth.mfa_not_enabled': 409,
  'auth.mfa_not_enrolled': 409,
  'auth.invalid_email_token': 400,
  'auth.api_key_invalid': 401,
  'auth.oidc_unknown_provider': 404,
  'auth.oidc_failed': 400,
  'auth.signing_key_unavailable': 503,
} as const;
export type IdentityErrorCode = keyof typeof identityErrors;

/** Trimmed; the domain lower-cased (the local part is the mailbox owner's business). */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf('@');
  return at < 0 ? trimmed : `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
}

export const emailSchema = z.string().trim().max(254).pipe(z.email({ message: 'must be an email address' })).transform(normalizeEmail);
/** 8..128 characters; the common-password check happens in the service. */
export const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(128, 'must be at most 128 characters');
const id = z.string().min(1).max(64);

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  status: z.enum(['active', 'disabled']),
  emailVerified: z.boolean(),
  mfaEnabled: z.boolean(),
  roles: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.number().int(),
});
export type User = z.infer<typeof userSchema>;

export const tokensSchema = z.object({
  user: userSchema,
  accessToken: z.string(),
  refreshToken: z.string(),
  /** Seconds until the access token expires. */
  expiresIn: z.number().int(),
  tokenType: z.literal('Bearer'),
});
export type Tokens = z.infer<typeof tokensSchema>;

export const mfaRequiredSchema = z.object({ mfaRequired: z.literal(true), mfaToken: z.string(), expiresIn: z.number().int() });

export const sessionSchema = z.object({
  id: z.string(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  authMethod: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  expiresAt: z.string(),
  current: z.boolean(),
});

export const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The visible start of the key, e.g. `plk_ab12cd34`. */
  prefix: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

const list = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });
const pageQuery = z.object({
  limit: z.coerce.number<number>().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
const empty = z.object({});
const accepted = z.object({ accepted: z.literal(true) });
const ok = z.object({ ok: z.literal(true) });
const permission = z.string().regex(/^[a-z][a-z0-9_-]*(:[a-z][a-z0-9_-]*){1,2}$/, 'must look like resource:action');

export const identityRoutes = {
  signUp: defineRoute({
    method: 'POST', path: '/v1/auth/sign-up', operationId: 'signUp', summary: 'Create an account with email and password.',
    tags: ['auth'], auth: 'public', status: 201,
    body: z.object({ email: emailSchema, password: passwordSchema, name: z.string().trim().min(1).max(100).optional() }).strict(),
    response: tokensSchema,
  }),
  signIn: defineRoute({
    method: 'POST', path: '/v1/auth/sign-in', operationId: 'signIn', summary: 'Sign in with email and password; a second step follows when MFA is on.',
    tags: ['auth'], auth: 'public',
    body: z.object({ email: z.string().trim().max(254).transform(normalizeEmail), password: z.string().max(1024) }).strict(),
    response: z.union([tokensSchema, mfaRequiredSchema]),
  }),
  verifyMfa: defineRoute({
    method: 'POST', path: '/v1/auth/mfa/verify', operationId: 'verifyMfa', summary: 'Second sign-in step: a TOTP code or a recovery code.',
    tags: ['auth'], auth: 'public',
    body: z.object({ mfaToken: z.string().min(1).max(200), code: z.string().trim().min(6).max(32) }).strict(),
    response: tokensSchema,
  }),
  refresh: defineRoute({
    method: 'POST', path: '/v1/auth/refresh', operationId: 'refresh', summary: 'Trade a refresh token for new tokens (the old one is rotated out).',
    tags: ['auth'], auth: 'public',
    body: z.object({ refreshToken: z.string().min(1).max(200) }).strict(),
    response: tokensSchema,
  }),
  signOut: defineRoute({
    method: 'POST', path: '/v1/auth/sign-out', operationId: 'signOut', summary: 'Revoke the current session.',
    tags: ['auth'], status: 204, response: z.unknown(),
  }),
  verifyEmail: defineRoute({
    method: 'POST', path: '/v1/auth/verify-email', operationId: 'verifyEmail', summary: 'Confirm an email address with the token from the message.',
    tags: ['auth'], auth: 'public',
    body: z.object({ token: z.string().min(1).max(200) }).strict(),
    response: z.object({ user: userSchema }),
  }),
  resendVerification: defineRoute({
    method: 'POST', path: '/v1/auth/verify-email/resend', operationId: 'resendVerification', summary: 'Send the verification message again.',
    tags: ['auth'], status: 202, response: accepted,
  }),
  requestPasswordReset: defineRoute({
    method: 'POST', path: '/v1/auth/password-reset', operationId: 'requestPasswordReset', summary: 'Email a reset link. Always 202, known address or not.',
    tags: ['auth'], auth: 'public', status: 202,
    body: z.object({ email: z.string().trim().max(254).transform(normalizeEmail) }).strict(),
    response: accepted,
  }),
  confirmPasswordReset: defineRoute({
    method: 'POST', path: '/v1/auth/password-reset/confirm', operationId: 'confirmPasswordReset', summary: 'Set a new password with a reset token; every session is revoked.',
    tags: ['auth'], auth: 'public',
    body: z.object({ token: z.string().min(1).max(200), password: passwordSchema }).strict(),
    response: ok,
  }),
  oidcStart: defineRoute({
    method: 'GET', path: '/v1/auth/oidc/:provider/start', operationId: 'oidcStart', summary: 'Redirect (302) to the OpenID provider.',
    tags: ['auth'], auth: 'public', status: 302,
    params: z.object({ provider: z.string().min(1).max(32) }),
    query: z.object({ redirectTo: z.string().max(2000).optional() }),
    response: z.unknown(),
  }),
  oidcCallback: defineRoute({
    method: 'GET', path: '/v1/auth/oidc/:provider/callback', operationId: 'oidcCallback', summary: 'Where the provider returns; answers tokens (or redirects to redirectTo with them in the fragment).',
    tags: ['auth'], auth: 'public',
    params: z.object({ provider: z.string().min(1).max(32) }),
    query: z.object({ code: z.string().max(4000).optional(), state: z.string().max(400).optional(), error: z.string().max(200).optional() }),
    response: tokensSchema,
  }),

  getMe: defineRoute({ method: 'GET', path: '/v1/me', operationId: 'getMe', summary: 'The signed-in user.', tags: ['me'], response: userSchema }),
  updateMe: defineRoute({
    method: 'PATCH', path: '/v1/me', operationId: 'updateMe', summary: 'Update my profile (optimistic concurrency: If-Match or version).', tags: ['me'],
    versioned: true,
    body: z
      .object({
        name: z.string().trim().min(1).max(100).nullable().optional(),
        /** The version the change was made from (or `If-Match: "<version>"`); a stale one is 409. */
        version: z.number().int().min(1).optional(),
      })
      .strict(),
    response: userSchema,
  }),
  deleteMe: defineRoute({
    method: 'DELETE', path: '/v1/me', operationId: 'deleteMe', summary: 'Delete my account: sessions revoked, personal data erased; orders stay for the books.',
    tags: ['me'], status: 204,
    /** Optional: accounts with a password must send `{ password }`. */
    body: z.object({ password: z.string().max(1024).optional() }).strict().optional(),
    response: z.unknown(),
  }),
  exportMe: defineRoute({
    method: 'GET', path: '/v1/me/export', operationId: 'exportMe', summary: 'Everything Plinth holds about me, as JSON.', tags: ['me'],
    response: z.record(z.string(), z.unknown()),
  }),
  changePassword: defineRoute({
    method: 'POST', path: '/v1/me/password', operationId: 'changePassword', summary: 'Change my password; every other session is revoked.', tags: ['me'],
    body: z.object({ currentPassword: z.string().max(1024), newPassword: passwordSchema }).strict(),
    response: ok,
  }),
  changeEmail: defineRoute({
    method: 'POST', path: '/v1/me/email', operationId: 'changeEmail', summary: 'Start an email change: a link goes to the new address.', tags: ['me'], status: 202,
    body: z.object({ email: emailSchema, password: z.string().max(1024).optional() }).strict(),
    response: accepted,
  }),
  listSessions: defineRoute({
    method: 'GET', path: '/v1/me/sessions', operationId: 'listSessions', summary: 'My active sessions.', tags: ['me'],
    response: list(sessionSchema),
  }),
  revokeSession: defineRoute({
    method: 'DELETE', path: '/v1/me/sessions/:id', operationId: 'revokeSession', summary: 'Revoke one of my sessions.', tags: ['me'], status: 204,
    params: z.object({ id }), response: z.unknown(),
  }),
  revokeOtherSessions: defineRoute({
    method: 'POST', path: '/v1/me/sessions/revoke-others', operationId: 'revokeOtherSessions', summary: 'Revoke every session but this one.', tags: ['me'],
    response: z.object({ revoked: z.number().int() }),
  }),
  enrollTotp: defineRoute({
    method: 'POST', path: '/v1/me/mfa/totp', operationId: 'enrollTotp', summary: 'Start TOTP enrollment: a secret and its otpauth:// URI.', tags: ['me'], status: 201,
    response: z.object({ secret: z.string(), otpauthUri: z.string() }),
  }),
  confirmTotp: defineRoute({
    method: 'POST', path: '/v1/me/mfa/totp/confirm', operationId: 'confirmTotp', summary: 'Confirm enrollment with a code; answers 10 recovery codes, shown once.', tags: ['me'],
    body: z.object({ code: z.string().trim().regex(/^\d{6}$/, 'must be 6 digits') }).strict(),
    response: z.object({ recoveryCodes: z.array(z.string()) }),
  }),
  disableTotp: defineRoute({
    method: 'DELETE', path: '/v1/me/mfa/totp', operationId: 'disableTotp', summary: 'Turn MFA off (needs a current TOTP code or an unused recovery code).', tags: ['me'], status: 204,
    body: z.object({ code: z.string().trim().min(6).max(32) }).strict(),
    response: z.unknown(),
  }),
  listApiKeys: defineRoute({
    method: 'GET', path: '/v1/api-keys', operationId: 'listApiKeys', summary: 'My API keys (never the secret), newest first.', tags: ['api-keys'],
    permission: 'api_keys:read', query: pageQuery, response: list(apiKeySchema),
  }),
  createApiKey: defineRoute({
    method: 'POST', path: '/v1/api-keys', operationId: 'createApiKey', summary: 'Create an API key; the key is shown once.', tags: ['api-keys'], status: 201,
    permission: 'api_keys:write',
    body: z.object({ name: z.string().trim().min(1).max(100), scopes: z.array(permission).max(100).default([]), expiresAt: z.iso.datetime({ offset: true }).optional() }).strict(),
    response: apiKeySchema.extend({ key: z.string() }),
  }),
  revokeApiKey: defineRoute({
    method: 'DELETE', path: '/v1/api-keys/:id', operationId: 'revokeApiKey', summary: 'Revoke an API key.', tags: ['api-keys'], status: 204,
    permission: 'api_keys:write', params: z.object({ id }), response: z.unknown(),
  }),
} as const;

export { empty as emptyBody, list as listOf, pageQuery, permission as permissionSchema };
