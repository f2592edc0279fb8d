import { z } from 'zod';
import { defineModule } from '../../module.js';
import { identityMigrations } from './migrations.js';
import { authRoutes } from './routes/auth.js';
import { createIdentityService, type IdentityService } from './service.js';

/**
 * Accounts and sign-in: users, passwords (Argon2id), access tokens (EdDSA JWT),
 * refresh-token families, lockouts, MFA, email flows, API keys, OIDC.
 */
export const identityModule = defineModule({
  name: 'identity',
  dependsOn: ['audit'],
  migrations: identityMigrations,
  events: {
    'user.signed_up': z.object({ userId: z.string(), email: z.string() }),
  },
  routes: [...authRoutes],
  services: (kernel) => createIdentityService(kernel),
  onStart: async (kernel) => {
    // A signing key exists before the first sign-in, created outside any request's transaction.
    const { tokens } = kernel.service<IdentityService>('identity');
    if (!(await tokens.list()).some((k) => k.retiredAt === null)) await tokens.rotate();
  },
  auth: (kernel) => ({
    authenticate: (credentials) => kernel.service<IdentityService>('identity').authenticate(credentials),
  }),
});

export type { IdentityService } from './service.js';
export type { IdentityCore, Caller, UserRow, AuthMethod } from './types.js';
