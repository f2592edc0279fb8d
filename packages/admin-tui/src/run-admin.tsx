import { createClient, type TokenStore } from '@plinth/client';
import { render } from 'ink';
import { AdminApp } from './admin-app.js';
import type { ScreenDef } from './screens/screen.js';

export interface RunAdminOptions {
  /** The Plinth server, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Where the session is kept; default in memory (the CLI passes the credentials file). */
  tokens?: TokenStore;
  /** Email to prefill at the sign-in prompt; default none. */
  email?: string;
  /** Use colours; default true unless `NO_COLOR` is set. */
  color?: boolean;
  /** Screens in tab order; default the built-in ones. */
  screens?: readonly ScreenDef[];
  /** Live refresh period in ms; default 3000. */
  refreshMs?: number;
  /** Time limit per request in ms; default 10 000. */
  timeoutMs?: number;
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
  const client = createClient({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs ?? 10_000, ...(options.tokens ? { tokens: options.tokens } : {}) });
  const instance = render(
    <AdminApp
      client={client}
      {...(options.color === undefined ? {} : { color: options.color })}
      {...(options.screens ? { screens: options.screens } : {})}
      {...(options.refreshMs === undefined ? {} : { refreshMs: options.refreshMs })}
      {...(options.email ? { email: options.email } : {})}
    />,
    {
      // Ink spreads these over its defaults: an explicit `undefined` would replace process.stdin/stdout.
      ...(options.stdin ? { stdin: options.stdin } : {}),
      ...(options.stdout ? { stdout: options.stdout } : {}),
      exitOnCtrlC: true,
      // Route console.* around the frame only when drawing on the process's own terminal.
      patchConsole: options.stdout === undefined,
    },
  );
  await instance.waitUntilExit();
}
