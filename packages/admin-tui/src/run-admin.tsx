import { createClient } from '@plinth/client';
import { render } from 'ink';
import { AdminApp, HEALTH_TIMEOUT_MS } from './admin-app.js';

export interface RunAdminOptions {
  /** The Plinth server, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Use colours; default true unless `NO_COLOR` is set. */
  color?: boolean;
  /** Input stream; default `process.stdin`. */
  stdin?: NodeJS.ReadStream;
  /** Output stream; default `process.stdout`. */
  stdout?: NodeJS.WriteStream;
}

/**
 * Renders the console until the user quits (`q`, or Ctrl+C). Rejects at once,
 * before drawing anything, when `baseUrl` is not an http(s) URL.
 */
export async function runAdmin(options: RunAdminOptions): Promise<void> {
  const client = createClient({ baseUrl: options.baseUrl, timeoutMs: HEALTH_TIMEOUT_MS });
  const instance = render(<AdminApp baseUrl={client.baseUrl} client={client} color={options.color} />, {
    // Ink spreads these over its defaults: an explicit `undefined` would replace process.stdin/stdout.
    ...(options.stdin ? { stdin: options.stdin } : {}),
    ...(options.stdout ? { stdout: options.stdout } : {}),
    exitOnCtrlC: true,
    // Route console.* around the frame only when drawing on the process's own terminal.
    patchConsole: options.stdout === undefined,
  });
  await instance.waitUntilExit();
}
