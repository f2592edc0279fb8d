import { z } from 'zod';
import { defineModule } from '../../module.js';
import { withAccount } from './account.js';
import { withApiKeys } from './api-keys.js';
import { identityMigrations } from './migrations.js';
import { identityEncryptedColumns } from './reencrypt-secrets.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { authRoutes } from './routes/auth.js';
import { emailFlowRoutes, meRoutes } from './routes/me.js';
import { mfaRoutes } from './routes/mfa.js';
import { oidcRoutes } from './routes/oidc.js';
import { createIdentityService, type IdentityService } from './service.js';

/**
 * Accounts and sign-in: users, passwords (Argon2id), access tokens (EdDSA JWT),
 * refresh-token families, lockouts, MFA, email flows, API keys, OIDC.
 */
export const identityModule = defineModule({
  name: 'identity',
  dependsOn: ['audit'],
  migrations: identityMigrations,
  encryptedColumns: identityEncryptedColumns,
  events: {
    'user.signed_up': z.object({ userId: z.string() }), // no email: outbox events cannot be erased when the account is deleted
    /** An account was deleted (anonymized); its id stays, for the orders that name it. */
    'user.deleted': z.object({ userId: z.string() }),
  },
  routes: [...authRoutes, ...emailFlowRoutes, ...meRoutes, ...mfaRoutes, ...oidcRoutes, ...apiKeyRoutes],
  services: (kernel) => withAccount(kernel, withApiKeys(kernel, createIdentityService(kernel))),
  onStart: async (kernel) => {
    // A signing key exists before the first sign-in, created outside any request's transaction.
    const { tokens } = kernel.service<IdentityService>('identity');
    if (!(await tokens.list()).some((k) => k.retiredAt === null)) await tokens.rotate();
  },
  auth: (kernel) => ({
    authenticate: (credentials) => kernel.service<IdentityService>('identity').authenticate(credentials),
    authenticateNow: (credentials) => kernel.service<IdentityService>('identity').authenticateNow(credentials),
  }),
});

export type { IdentityService } from './service.js';
export type { IdentityCore, Caller, UserRow, AuthMethod } from './types.js';
export { totpQrCode } from './totp.js';
export type { MfaService, MfaStatus, TotpEnrollment } from './mfa.js';
export type { EncryptedColumn, ReencryptOptions, ReencryptReport, ReencryptTableReport } from './reencrypt-secrets.js';
