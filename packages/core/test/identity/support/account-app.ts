/**
 * A Plinth app for the email-flow and account tests: the built-in modules on a
 * real database, served over real HTTP, with mail kept in memory, a manual
 * clock and every log line captured.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from '@plinth/server';
import { expect } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/clock.js';
import type { Tokens } from '../../../src/contract/identity.js';
import { createLogger } from '../../../src/logger.js';
import { createMemoryMailTransport, type MailMessage, type MailTransport, type MemoryMailTransport } from '../../../src/mail/mail-transport.js';
import type { AnyModule } from '../../../src/module.js';
import type { AuditEvent, AuditService } from '../../../src/modules/audit/index.js';
import { builtinModules } from '../../../src/modules/builtins.js';
import type { AccountService } from '../../../src/modules/identity/account.js';
import type { EmailFlows } from '../../../src/modules/identity/email-flows.js';
import type { Plinth } from '../../../src/plinth.js';
import type { TestDialect } from '../../../src/testing/index.js';
import type { Harness } from '../../support/harness.js';

export const PASSWORD = 'correct horse battery staple';

export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON, or `undefined` for an empty body. */
  body: any;
  /** The raw body text. */
  text: string;
}

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
  const db = await h.database(dialect);
  const clock = createManualClock(Date.now());
  const mail = createMemoryMailTransport();
  const logLines: string[] = [];
  const plinth = h.plinth(db.url, {
    builtins: builtinModules,
    modules: options.modules ?? [],
    clock,
    appUrl: 'https://app.example',
    logger: createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } }),
    encryptionKeys: [`k1:${randomBytes(32).toString('base64')}`],
    mailTransport: options.transport ?? mail,
    auth: { passwordMemoryKib: 8192, passwordIterations: 1 },
  });
  await plinth.start();
  const server = createServer(plinth, { port: 0, closePlinth: false });
  const { url } = await server.listen({ host: '127.0.0.1', port: 0 });
  h.defer(() => server.close());
  const services = () => plinth.service<{ emailFlows: EmailFlows; account: AccountService }>('identity');

  async function call(method: string, path: string, o: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
  }

  const messagesTo = (to: string, kind?: string) => mail.messages.filter((m) => m.to === to && (kind === undefined || m.kind === kind));
  return {
    plinth,
    clock,
    mail,
    logLines,
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
