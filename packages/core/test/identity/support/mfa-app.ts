/**
 * A Plinth app with the built-in modules behind the real HTTP server, a manual
 * clock (so tests pick TOTP time steps) and a captured log — for the MFA and
 * re-encryption suites.
 */
import { expect } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/clock.js';
import type { AuditService } from '../../../src/modules/audit/index.js';
import type { IdentityService } from '../../../src/modules/identity/service.js';
import { generateEncryptionKey } from '../../../src/secrets/secret-box.js';
import { totpCode, totpStep } from '../../../src/modules/identity/totp.js';
import type { Plinth } from '../../../src/plinth.js';
import type { TestDatabase, TestDialect } from '../../../src/testing/index.js';
import { type Reply, startApp } from '../../support/app.js';
import type { Harness } from '../../support/harness.js';

export const PASSWORD = 'plinth-test-password-4711';
/** 12:00:00 UTC: the start of a TOTP step, so `clock.advance(10_000)` stays inside it. */
export const START = Date.UTC(2026, 0, 1, 12, 0, 0);

export interface MfaApp {
  plinth: Plinth;
  clock: ManualClock;
  db: TestDatabase;
  /** Every log line written, at the `trace` level. */
  logLines: string[];
  identity: IdentityService;
  call(method: string, path: string, options?: { body?: unknown; token?: string }): Promise<Reply>;
  /** Signs up a user: their access token and id. */
  signUp(email: string): Promise<{ token: string; userId: string }>;
  /** Enrolls and confirms TOTP at the current step: the secret and the recovery codes. */
  enableMfa(token: string): Promise<{ secret: string; recoveryCodes: string[] }>;
  /** The code of `secret` for the current step plus `offset` steps. */
  code(secret: string, offset?: number): string;
  /** Moves the clock to the start of the next step (or `n` steps on). */
  nextStep(n?: number): void;
  /** Password sign-in of an MFA user: the challenge token. */
  challenge(email: string): Promise<string>;
  audit(action: string): ReturnType<AuditService['list']>;
  /** Stops the server and the instance (the database stays). */
  close(): Promise<void>;
}

export async function mfaApp(
  h: Harness,
  dialect: TestDialect,
  options: { db?: TestDatabase; clock?: ManualClock; encryptionKeys?: string[]; lockoutAccountFailures?: number } = {},
): Promise<MfaApp> {
  const clock = options.clock ?? createManualClock(START);
  const app = await startApp(h, dialect, {
    ...(options.db ? { db: options.db } : {}),
    clock,
    encryptionKeys: options.encryptionKeys ?? [generateEncryptionKey('test')],
    auth: options.lockoutAccountFailures ? { lockoutAccountFailures: options.lockoutAccountFailures } : {},
  });
  const { plinth, call } = app;
  // Stops the server, which closes the instance; the database stays for a restart.
  const close = () => app.server.close();
  const code = (secret: string, offset = 0) => totpCode(secret, totpStep(clock.now()) + offset);

  return {
    plinth,
    clock,
    db: app.db,
    logLines: app.logs,
    identity: plinth.service<IdentityService>('identity'),
    call,
    async signUp(email) {
      const r = await call('POST', '/v1/auth/sign-up', { body: { email, password: PASSWORD } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return { token: r.body.accessToken, userId: r.body.user.id };
    },
    async enableMfa(token) {
      const enrolled = await call('POST', '/v1/me/mfa/totp', { token });
      expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
      const confirmed = await call('POST', '/v1/me/mfa/totp/confirm', { token, body: { code: code(enrolled.body.secret) } });
      expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
      return { secret: enrolled.body.secret, recoveryCodes: confirmed.body.recoveryCodes };
    },
    code,
    nextStep(n = 1) {
      clock.set((totpStep(clock.now()) + n) * 30_000);
    },
    async challenge(email) {
      const r = await call('POST', '/v1/auth/sign-in', { body: { email, password: PASSWORD } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ mfaRequired: true });
      return r.body.mfaToken;
    },
    audit: (action) => plinth.service<AuditService>('audit').list({ action }),
    close,
  };
}
