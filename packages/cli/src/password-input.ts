import { PlinthError } from '@plinth/core';

/** More than any password Plinth accepts (128), so a longer one gets the real error, not a truncation. */
const MAX_BYTES = 4096;

const inputError = (message: string) => new PlinthError('validation.failed', message, { errors: [{ path: 'password', message, code: 'invalid' }] });

/** Reads every byte of a piped standard input, refusing more than `MAX_BYTES`. */
async function readPiped(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BYTES) throw inputError(`The password on standard input is longer than ${MAX_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks on the terminal without echoing what is typed (raw mode; Enter ends, Ctrl-C aborts). */
export function promptHidden(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let typed = '';
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(inputError('Cancelled'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed += char;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/**
 * The password for `--password-stdin`: piped (`printf '%s' "$PW" | plinth ...`, one
 * trailing newline removed) or, on a terminal, typed twice without echo. Never argv.
 */
export async function readPassword(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  let password: string;
  if (stdin.isTTY) {
    password = await promptHidden(stdin, 'Password: ');
    const again = await promptHidden(stdin, 'Repeat the password: ');
    if (again !== password) throw inputError('The two passwords differ');
  } else {
    password = (await readPiped(stdin)).replace(/\r?\n$/, '');
  }
  if (!password) throw inputError('No password on standard input: pipe it in (`printf \'%s\' "$PASSWORD" | plinth users create ...`)');
  return password;
}
