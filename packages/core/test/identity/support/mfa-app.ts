/**
 * A Plinth app with the built-in modules behind the real HTTP server, a manual
 * clock (so tests pick TOTP time steps) and a captured log — for the MFA and
 * re-encryption suites.
 */
import { createServer } from '@plinth/server';
import { expect } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/clock.js';
import { createLogger } from '../../../src/logger.js';
import type { AuditService } from '../../../src/modules/audit/index.js';
import { builtinModules } from '../../../src/modules/builtins.js';
import type { IdentityService } from '../../../src/modules/identity/service.js';
import { createMemoryMailTransport } from '../../../src/mail/mail-transport.js';
import { generateEncryptionKey } from '../../../src/secrets/secret-box.js';
import { totpCode, totpStep } from '../../../src/modules/identity/totp.js';
import type { Plinth } from '../../../src/plinth.js';
import type { TestDatabase, TestDialect } from '../../../src/testing/index.js';
import type { Harness } from '../../support/harness.js';

export const PASSWORD = 'plinth-test-password-4711';
/** 12:00:00 UTC: the start of a TOTP step, so `clock.advance(10_000)` stays inside it. */
export const START = Date.UTC(2026, 0, 1, 12, 0, 0);

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint: test JSON
  body: any;
}

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
  const db = options.db ?? (await h.database(dialect));
  const clock = options.clock ?? createManualClock(START);
  const logLines: string[] = [];
  const plinth = h.plinth(db.url, {
    builtins: builtinModules,
    clock,
    logger: createLogger({ level: 'trace', destination: { write: (line: string) => void logLines.push(line) } }),
    encryptionKeys: options.encryptionKeys ?? [generateEncryptionKey('test')],
    mailTransport: createMemoryMailTransport(),
    auth: { passwordMemoryKib: 8192, passwordIterations: 1, ...(options.lockoutAccountFailures ? { lockoutAccountFailures: options.lockoutAccountFailures } : {}) },
  });
  await plinth.start();
  const server = createServer(plinth, { closePlinth: false });
  const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    await plinth.close();
  };
  h.defer(close);

  const call: MfaApp['call'] = async (method, path, { body, token } = {}) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const code = (secret: string, offset = 0) => totpCode(secret, totpStep(clock.now()) + offset);

  return {
    plinth,
    clock,
    db,
    logLines,
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
