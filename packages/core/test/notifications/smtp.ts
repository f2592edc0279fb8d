/**
 * A real SMTP server for tests (the `smtp-server` package) behind a TCP front door that
 * can hang: in `hang` mode it accepts connections and never says a word (no greeting),
 * like a stuck mail server; in `ok` mode it passes them to the SMTP server.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  messageId: string;
}

export interface TestSmtp {
  url: string;
  messages: ReceivedMail[];
  mode: 'ok' | 'hang';
  /** Connections the front door accepted (hanging ones included). */
  connections: number;
  close(): Promise<void>;
}

/** Quoted-printable and header unfolding, enough for what nodemailer writes. */
function decode(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.slice(split + 4);
  if (/quoted-printable/i.test(headers['content-transfer-encoding'] ?? '')) {
    const bytes: number[] = [];
    const soft = body.replace(/=\r\n/g, '');
    for (let i = 0; i < soft.length; i++) {
      const hex = soft[i] === '=' ? /^[0-9A-F]{2}$/.exec(soft.slice(i + 1, i + 3)) : null;
      if (hex) {
        bytes.push(Number.parseInt(hex[0], 16));
        i += 2;
      } else bytes.push(soft.charCodeAt(i));
    }
    body = Buffer.from(bytes).toString('utf8');
  } else if (/base64/i.test(headers['content-transfer-encoding'] ?? '')) {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

export async function startSmtp(initial: 'ok' | 'hang' = 'ok'): Promise<TestSmtp> {
  const messages: ReceivedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const { headers, body } = decode(Buffer.concat(chunks).toString('utf8'));
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: headers.subject ?? '',
          text: body,
          messageId: headers['message-id'] ?? '',
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as { port: number }).port;

  const held = new Set<Socket>();
  const state: TestSmtp = {
    url: '',
    messages,
    mode: initial,
    connections: 0,
    async close() {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
  const front: Server = createServer((socket) => {
    state.connections++;
    held.add(socket);
    socket.on('close', () => held.delete(socket));
    socket.on('error', () => undefined);
    if (state.mode === 'hang') return; // accepted, then silence
    const back = connect(smtpPort, '127.0.0.1');
    back.on('error', () => socket.destroy());
    socket.pipe(back).pipe(socket);
    socket.on('close', () => back.destroy());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  state.url = `smtp://127.0.0.1:${(front.address() as { port: number }).port}`;
  return state;
}
