import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** What the message is for, e.g. `identity.verify_email` (tests and logs). */
  kind?: string;
}

/** What a transport may answer for a message it accepted. */
export interface MailReceipt {
  /** The provider's id of the message (SMTP `Message-ID`), for delivery tracking. */
  messageId?: string | undefined;
}

/** Where outgoing mail goes. One contract, several transports (dev folder, SMTP, memory). */
export interface MailTransport {
  readonly name: string;
  /** Where messages go, for the circuit breaker and logs (`smtp:host:port`); default `name`. No credentials. */
  readonly destination?: string;
  send(message: MailMessage): Promise<void | MailReceipt>;
  close?(): Promise<void>;
}

/** Development: each message becomes a JSON file in `dir`; nothing leaves the machine. */
export function createDevMailTransport(dir: string, from: string): MailTransport {
  return {
    name: 'dev',
    async send(message) {
      mkdirSync(dir, { recursive: true });
      const messageId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
      writeFileSync(join(dir, `${messageId}.json`), `${JSON.stringify({ from, ...message }, null, 2)}\n`, { mode: 0o600 });
      return { messageId };
    },
  };
}

/**
 * Real mail over SMTP (nodemailer), e.g. `smtps://user:pass@smtp.example.com`. `timeoutMs` bounds
 * connecting, the greeting and socket inactivity (default 10000), so a hanging server cannot hold a sender.
 */
export function createSmtpMailTransport(url: string, from: string, options: { timeoutMs?: number } = {}): MailTransport {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const transporter = nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
  let destination = 'smtp';
  try {
    const parsed = new URL(url);
    destination = `smtp:${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}`;
  } catch {
    // nodemailer reports a bad URL on send
  }
  return {
    name: 'smtp',
    destination,
    async send(message) {
      const info = await transporter.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
      return { messageId: typeof info?.messageId === 'string' ? info.messageId : undefined };
    },
    async close() {
      transporter.close();
    },
  };
}

/** Keeps messages in memory: for tests, and for apps that want to look at what was sent. */
export interface MemoryMailTransport extends MailTransport {
  readonly messages: MailMessage[];
  /** The last message sent to `to`. */
  last(to?: string): MailMessage | undefined;
}

export function createMemoryMailTransport(): MemoryMailTransport {
  const messages: MailMessage[] = [];
  return {
    name: 'memory',
    messages,
    async send(message) {
      messages.push({ ...message });
    },
    last: (to) => [...messages].reverse().find((m) => to === undefined || m.to === to),
  };
}
