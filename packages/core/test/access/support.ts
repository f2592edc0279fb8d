/**
 * A Plinth app for the access service tests: audit, identity (with API keys)
 * and access, on a manual clock. Users are inserted directly: no password
 * hashing, no sign-up flow.
 */
import type { Actor } from '../../src/auth.js';
import { builtinModules, createManualClock, createMemoryMailTransport, type ManualClock, type Plinth } from '../../src/index.js';
import type { AccessService } from '../../src/modules/access/service.js';
import type { AuditService } from '../../src/modules/audit/index.js';
import type { ApiKeyService } from '../../src/modules/identity/api-keys.js';
import type { Caller } from '../../src/modules/identity/types.js';
import { testEncryptionKey } from '../support/app.js';
import type { TestDialect } from '../../src/testing/index.js';
import type { Harness } from '../support/harness.js';


export interface AccessApp {
  plinth: Plinth;
  clock: ManualClock;
  access: AccessService;
  apiKeys: ApiKeyService;
  audit: AuditService;
  /** Inserts an active user with the given roles; answers a user actor for them. */
  user(email: string, roles?: string[], options?: { name?: string; status?: 'active' | 'disabled' | 'deleted' }): Promise<UserActor>;
  /** Inserts an active session for a user. */
  session(userId: string): Promise<string>;
}

export type UserActor = Extract<Actor, { kind: 'user' }>;
export const system: Actor = { kind: 'system', name: 'test' };
export const as = (actor: Actor | null): Caller => ({ actor, ip: '203.0.113.9', userAgent: 'vitest', requestId: 'req-1' });

export async function accessApp(h: Harness, dialect: TestDialect): Promise<AccessApp> {
  const db = await h.database(dialect);
  const clock = createManualClock(Date.UTC(2026, 0, 1));
  const plinth = h.plinth(db.url, { builtins: builtinModules, encryptionKeys: [testEncryptionKey], mailTransport: createMemoryMailTransport(), clock });
  await plinth.start();
  const iso = () => new Date(clock.now()).toISOString();
  return {
    plinth,
    clock,
    access: plinth.service<AccessService>('access'),
    apiKeys: plinth.service<{ apiKeys: ApiKeyService }>('identity').apiKeys,
    audit: plinth.service<AuditService>('audit'),
    async user(email, roles = ['customer'], options = {}) {
      const id = plinth.ids.next();
      const at = iso();
      await plinth.db
        .insertInto('users')
        .values({ id, email, email_key: email.toLowerCase(), name: options.name ?? null, status: options.status ?? 'active', mfa_enabled: false, created_at: at, updated_at: at, version: 1 })
        .execute();
      if (roles.length) await plinth.db.insertInto('user_roles').values(roles.map((role) => ({ user_id: id, role, created_at: at }))).execute();
      return { kind: 'user', userId: id, sessionId: `s-${id}`, roles };
    },
    async session(userId) {
      const id = plinth.ids.next();
      await plinth.db
        .insertInto('sessions')
        .values({ id, user_id: userId, auth_method: 'password', created_at: iso(), last_used_at: iso(), expires_at: new Date(clock.now() + 86_400_000).toISOString() })
        .execute();
      return id;
    },
  };
}
