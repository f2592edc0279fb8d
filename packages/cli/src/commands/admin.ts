import { createClient, isPlinthApiError } from '@plinth/client';
import { createWorker, PlinthError, type Worker } from '@plinth/core';
import { credentialsPath, fileTokenStore, forgetServer, savedServer } from '@plinth/admin-tui/credentials';
import { createServer } from '@plinth/server';
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { action } from '../action.js';
import { type CliContext, closeWithin, globalOptions, openPlinth, resolveConfig } from '../instance.js';
import { printJson, printLines } from '../output.js';
import { promptHidden } from '../password-input.js';

/**
 * `plinth login`, `plinth logout` and `plinth admin`: the console talks to a
 * server through the client SDK, signed in with the session `plinth login`
 * saved (credentials file, mode 0600), or with no `--url` to a server started
 * in this process on the local database.
 */

function normalizeUrl(url: string): string {
  try {
    return createClient({ baseUrl: url }).baseUrl;
  } catch (error) {
    throw new PlinthError('validation.failed', `--url is not an http(s) URL: ${url}`, { cause: error });
  }
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

async function readAll(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * Loads the console (Ink and React) only for `plinth admin`, so other commands
 * start without them. Ink draws nothing but the final frame when the `CI`
 * variable is set; the console runs on a TTY (checked before this), where that
 * guess is wrong, so it is turned off for this process before Ink loads.
 */
async function loadConsole(): Promise<typeof import('@plinth/admin-tui')> {
  process.env.CI = 'false';
  process.env.CONTINUOUS_INTEGRATION = 'false';
  return import('@plinth/admin-tui');
}

export interface LoginReport {
  url: string;
  email: string;
  roles: string[];
  credentials: string;
}

/** Signs in to `url` and saves the session in the credentials file. */
export async function gatherLogin(input: { url: string; email: string; password: string; code?: string | undefined; askCode?: () => Promise<string> }): Promise<LoginReport> {
  const url = normalizeUrl(input.url);
  const tokens = fileTokenStore(url, { email: () => input.email });
  const client = createClient({ baseUrl: url, tokens, timeoutMs: 15_000 });
  let answer = await client.signIn({ body: { email: input.email, password: input.password } });
  if ('mfaRequired' in answer) {
    const code = input.code ?? (await input.askCode?.());
    if (!code) throw new PlinthError('auth.invalid_mfa_code', 'This account has MFA: pass --code <code> (or run on a terminal to be asked)');
    answer = await client.verifyMfa({ body: { mfaToken: answer.mfaToken, code } });
  }
  return { url, email: answer.user.email, roles: answer.user.roles, credentials: credentialsPath() };
}

/** Signs out of `url` (the server revokes the session) and forgets it locally. */
export async function gatherLogout(url: string): Promise<{ url: string; signedOut: boolean }> {
  const normalized = normalizeUrl(url);
  if (!savedServer(normalized)) return { url: normalized, signedOut: false };
  const client = createClient({ baseUrl: normalized, tokens: fileTokenStore(normalized), timeoutMs: 10_000 });
  try {
    await client.signOut();
  } catch (error) {
    // An expired or revoked session, or a server that is gone: forgetting it locally is what is left to do.
    if (!isPlinthApiError(error)) throw error;
  }
  forgetServer(normalized);
  return { url: normalized, signedOut: true };
}

export function addAdminCommands(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('Sign in to a Plinth server; the session is saved for `plinth admin --url` (credentials file, mode 0600)')
    .requiredOption('--url <url>', 'the server, e.g. http://127.0.0.1:8080')
    .option('--email <email>', 'account email (asked when not given)')
    .option('--password-stdin', 'read the password from standard input (asked without echo on a terminal)')
    .option('--code <code>', 'authenticator or recovery code, for accounts with MFA')
    .action(
      action(async (opts: { url: string; email?: string; passwordStdin?: boolean; code?: string }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const email = opts.email ?? (process.stdin.isTTY ? await ask('Email: ') : '');
        if (!email) throw new PlinthError('validation.failed', 'Pass --email <email>');
        const password = process.stdin.isTTY && !opts.passwordStdin ? await promptHidden(process.stdin, 'Password: ') : await readAll(process.stdin);
        if (!password) throw new PlinthError('validation.failed', 'No password given: pipe it in with --password-stdin');
        const report = await gatherLogin({ url: opts.url, email, password, code: opts.code, askCode: process.stdin.isTTY ? () => ask('Authenticator code: ') : undefined });
        if (globals.json) printJson(report);
        else printLines([`Signed in to ${report.url} as ${report.email} (${report.roles.join(', ') || 'no roles'}); session saved in ${report.credentials}`]);
      }),
    );

  program
    .command('logout')
    .description('Sign out of a server (its session is revoked) and forget it')
    .requiredOption('--url <url>', 'the server')
    .action(
      action(async (opts: { url: string }, cmd: Command) => {
        const report = await gatherLogout(opts.url);
        if (globalOptions(cmd).json) printJson(report);
        else printLines([report.signedOut ? `Signed out of ${report.url}` : `Not signed in to ${report.url}`]);
      }),
    );

  program
    .command('admin')
    .description('Open the admin console: users, orders, catalog, jobs, audit, live dashboard')
    .option('--url <url>', 'a running server (sign in first with `plinth login`, or at the prompt); default: start one in this process on the local database')
    .option('--refresh <seconds>', 'live refresh period of the dashboard (default 3)', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0.5 || n > 3600) throw new PlinthError('validation.failed', '--refresh must be 0.5 to 3600 seconds');
      return n;
    })
    .addHelpText('after', '\nKeys: arrows or j/k move, enter opens, esc goes back, / searches, 1-9 or tab switch screens, ? lists every key, q quits. NO_COLOR=1 turns colours off.')
    .action(
      action(async (opts: { url?: string; refresh?: number }, cmd: Command) => {
        if (!process.stdin.isTTY || !process.stdout.isTTY) throw new PlinthError('validation.failed', '`plinth admin` needs a terminal (standard input and output must be a TTY)');
        const refreshMs = Math.round((opts.refresh ?? 3) * 1000);
        const { runAdmin } = await loadConsole();
        if (opts.url) {
          const url = normalizeUrl(opts.url);
          const saved = savedServer(url);
          let email = saved?.email;
          const tokens = fileTokenStore(url, { email: () => email });
          await runAdmin({ baseUrl: url, tokens, refreshMs, ...(email ? { email } : {}) });
          return;
        }
        // No URL: this process serves the local database on a loopback port for the console alone.
        const config = resolveConfig(globalOptions(cmd), { host: '127.0.0.1', port: 0 });
        const plinth = openPlinth(config, ctx, 'quiet');
        let worker: Worker | undefined;
        await plinth.start();
        const http = createServer(plinth, { closePlinth: false, port: 0, host: '127.0.0.1' });
        try {
          const { url } = await http.listen();
          if (plinth.storage.dialect === 'sqlite') {
            worker = createWorker(plinth, { batchSize: 10 });
            await worker.start();
          }
          await runAdmin({ baseUrl: url, refreshMs });
        } finally {
          await Promise.all([http.close(), worker?.stop()]);
          await closeWithin(plinth, 10_000);
        }
      }),
    );
}
