import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { isPlinthError, redactUrl } from '@plinth/core';

/**
 * Printing, apart from gathering: commands build a plain result object, then
 * either `printJson` it (`--json`, for scripts) or print lines for humans.
 * Results go to stdout; errors go to stderr as one line.
 */

/** True when `PLINTH_DEBUG=1`: errors then carry their stack. */
export const isDebug = (): boolean => process.env.PLINTH_DEBUG === '1';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(lines: readonly string[]): void {
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

/** Pads the first column so a list reads as a table. */
export function columns(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/** Hides the password of every URL in a text (`postgres://u:***@host/db`). */
export function redactText(text: string): string {
  return text
    .split(/(\s+)/)
    .map((part) => redactUrl(part))
    .join('');
}

function causeMessage(cause: unknown): string | undefined {
  if (!(cause instanceof Error)) return undefined;
  if (cause.message) return cause.message;
  // Node's AggregateError (one connection attempt per address) has an empty message.
  const inner = (cause as { errors?: unknown }).errors;
  if (Array.isArray(inner)) {
    const messages = [...new Set(inner.map((e) => (e instanceof Error ? e.message : String(e))).filter(Boolean))];
    if (messages.length) return messages.join('; ');
  }
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * One line for any error: multi-line messages (a config error lists each key
 * on its own line) are joined, a generic "cannot be reached" gets its cause,
 * and URLs lose their passwords.
 */
export function formatError(error: unknown): string {
  if (!(error instanceof Error)) return redactText(String(error));
  let message = causeMessage(error) ?? error.name;
  const [head = '', ...rest] = message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  message = rest.length ? `${head}${head.endsWith(':') ? ' ' : '; '}${rest.join('; ')}` : head;
  if (isPlinthError(error) && error.code === 'storage.unavailable') {
    const cause = causeMessage(error.cause);
    if (cause && !message.includes(cause)) message = `${message}: ${cause}`;
  }
  return redactText(message);
}

/** The stable code of an error when it has one (`config.invalid`, `ECONNREFUSED`). */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'internal';
}

/**
 * Reports a failed command: one line on stderr (the stack only with
 * `PLINTH_DEBUG=1`) and, with `--json`, `{ ok: false, error }` on stdout.
 */
export function reportError(error: unknown, options: { json?: boolean } = {}): void {
  const message = formatError(error);
  if (options.json) printJson({ ok: false, error: { code: errorCode(error), message } });
  process.stderr.write(`error: ${message}\n`);
  if (isDebug() && error instanceof Error) {
    let current: unknown = error;
    while (current instanceof Error) {
      process.stderr.write(`${redactText(current.stack ?? String(current))}\n`);
      current = current.cause;
      if (current instanceof Error) process.stderr.write('caused by: ');
    }
  }
}

/**
 * Streams what `produce` writes to `path`, complete or not at all (a temporary
 * name, renamed at the end; removed on failure), or to stdout when no path is
 * given. `write` waits for the stream to drain, so memory stays bounded.
 */
export async function writeOutput(path: string | undefined, produce: (write: (chunk: string | Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  const temp = path ? `${path}.partial-${process.pid}` : undefined;
  const out = temp ? createWriteStream(temp, { flags: 'wx' }) : process.stdout;
  const write = async (chunk: string | Uint8Array) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  try {
    await produce(write);
    if (temp) {
      out.end();
      await finished(out);
      renameSync(temp, path!);
    }
  } catch (error) {
    if (temp) {
      out.destroy();
      rmSync(temp, { force: true });
    }
    throw error;
  }
}
