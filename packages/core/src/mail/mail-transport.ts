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

/** Where outgoing mail goes. One contract, several transports (dev folder, SMTP, memory). */
export interface MailTransport {
  readonly name: string;
  send(message: MailMessage): Promise<void>;
  close?(): Promise<void>;
}

/** Development: each message becomes a JSON file in `dir`; nothing leaves the machine. */
export function createDevMailTransport(dir: string, from: string): MailTransport {
  return {
    name: 'dev',
    async send(message) {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}.json`);
      writeFileSync(file, `${JSON.stringify({ from, ...message }, null, 2)}\n`, { mode: 0o600 });
    },
  };
}

/** Real mail over SMTP (nodemailer), e.g. `smtps://user:pass@smtp.example.com`. */
export function createSmtpMailTransport(url: string, from: string): MailTransport {
  const transporter = nodemailer.createTransport(url);
  return {
    name: 'smtp',
    async send(message) {
      await transporter.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
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
