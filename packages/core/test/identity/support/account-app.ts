/**
 * A Plinth app for the email-flow and account tests: the built-in modules on a
 * real database, served over real HTTP, with mail kept in memory, a manual
 * clock and every log line captured.
 */
import { expect } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/clock.js';
import type { Tokens } from '../../../src/contract/identity.js';
import type { MailMessage, MailTransport, MemoryMailTransport } from '../../../src/mail/mail-transport.js';
import type { AnyModule } from '../../../src/module.js';
import type { AuditEvent, AuditService } from '../../../src/modules/audit/index.js';
import type { AccountService } from '../../../src/modules/identity/account.js';
import type { EmailFlows } from '../../../src/modules/identity/email-flows.js';
import type { Plinth } from '../../../src/plinth.js';
import type { TestDialect } from '../../../src/testing/index.js';
import { type Reply, startApp } from '../../support/app.js';
import type { Harness } from '../../support/harness.js';

export type { Reply };

export const PASSWORD = 'correct horse battery staple';

export interface AccountApp {
  plinth: Plinth;
  clock: ManualClock;
  mail: MemoryMailTransport;
  logLines: string[];
  /** An HTTP call to the served app; `token` becomes `Authorization: Bearer <token>`. */
  call(method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<Reply>;
  /** Signs up over HTTP and answers the tokens. */
  signUp(email: string, options?: { password?: string; name?: string }): Promise<Tokens>;
  signIn(email: string, password?: string): Promise<Reply>;
  /** The token in the link of the last message of `kind` sent to `to`. */
  linkToken(to: string, kind: string): string;
  /** Messages sent to `to` (of `kind`, when given). */
  messagesTo(to: string, kind?: string): MailMessage[];
  /** Waits for mail sent in the background. */
  settled(): Promise<void>;
  audit(action: string): Promise<AuditEvent[]>;
  services(): { emailFlows: EmailFlows; account: AccountService };
}

/** `ms` of manual time. */
export const minutes = (n: number) => n * 60_000;
export const hours = (n: number) => n * 3_600_000;

export async function accountApp(
  h: Harness,
  dialect: TestDialect,
  options: { modules?: readonly AnyModule[]; transport?: MailTransport } = {},
): Promise<AccountApp> {
  const clock = createManualClock(Date.now());
  const app = await startApp(h, dialect, {
    modules: options.modules ?? [],
    clock,
    appUrl: 'https://app.example',
    ...(options.transport ? { mailTransport: options.transport } : {}),
  });
  const { plinth, mail, call } = app;
  const services = () => plinth.service<{ emailFlows: EmailFlows; account: AccountService }>('identity');
  const messagesTo = (to: string, kind?: string) => mail.messages.filter((m) => m.to === to && (kind === undefined || m.kind === kind));
  return {
    plinth,
    clock,
    mail,
    logLines: app.logs,
    call,
    async signUp(email, o = {}) {
      const res = await call('POST', '/v1/auth/sign-up', { body: { email, password: o.password ?? PASSWORD, ...(o.name ? { name: o.name } : {}) } });
      expect(res.status, res.text).toBe(201);
      return res.body as Tokens;
    },
    signIn: (email, password = PASSWORD) => call('POST', '/v1/auth/sign-in', { body: { email, password } }),
    linkToken(to, kind) {
      const message = messagesTo(to, kind).at(-1);
      expect(message, `a ${kind} message to ${to}`).toBeDefined();
      const match = /\?token=([\w-]+)/.exec(message!.text);
      expect(match, 'a link with a token').not.toBeNull();
      return match![1]!;
    },
    messagesTo,
    settled: () => services().emailFlows.settled(),
    audit: (action) => plinth.service<AuditService>('audit').list({ action }),
    services,
  };
}

/** Asserts that no log line and no audit event contains any of `secrets`. */
export async function expectNoSecretsLeaked(app: AccountApp, secrets: string[]): Promise<void> {
  const rows = await app.plinth.db.selectFrom('audit_events').selectAll().execute();
  const auditText = JSON.stringify(rows);
  const logText = app.logLines.join('');
  expect(app.logLines.length).toBeGreaterThan(0);
  for (const secret of secrets) {
    expect(logText.includes(secret), `a log line contains ${secret.slice(0, 6)}…`).toBe(false);
    expect(auditText.includes(secret), `an audit event contains ${secret.slice(0, 6)}…`).toBe(false);
  }
}
