import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPlinth, type IdentityService, type Plinth, systemActor } from '@plinth/core';
import type { User } from '@plinth/core/contract';
import { type Command, CommanderError } from 'commander';
import { reportError } from '../src/output.js';
import { createProgram } from '../src/program.js';

/**
 * Runs the built `plinth` binary as a child process, the way a user would.
 * Build it first (`cd packages/cli && npx tsup`; `pnpm test` builds everything).
 */
export const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  /** Extra environment variables (the caller's `PLINTH_*` variables are never inherited). */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the child after this many ms; default 20000. */
  timeoutMs?: number;
  /** Written to the child's standard input, which is then closed; default none (stdin is /dev/null). */
  input?: string;
}

const children = new Set<ChildProcess>();

/**
 * Kills whatever `plinth` child is still running. The cli project's setup file
 * (test/setup.ts) runs it after every test of every file: a hook registered
 * here, at module level, would run for the first file only when the module is
 * shared between files (`isolate: false`).
 */
export async function stopChildren(): Promise<void> {
  const alive = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const child of alive) child.kill('SIGKILL');
  await Promise.all(alive.map((c) => new Promise((resolve) => (c.exitCode === null && c.signalCode === null ? c.once('exit', resolve) : resolve(null)))));
  children.clear();
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PLINTH_')) env[key] = value;
  return { ...env, ...extra };
}

function start(args: string[], options: RunOptions): ChildProcess {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build the CLI first (cd packages/cli && npx tsup)`);
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: cleanEnv(options.env),
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  if (options.input !== undefined) child.stdin!.end(options.input);
  return child;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve({ code: child.exitCode, signal: child.signalCode });
    };
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('close', done);
  });
}

/** Runs `plinth ...args` to completion. */
export async function plinth(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const child = start(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const { code, signal } = await waitForExit(child, options.timeoutMs ?? 20_000);
  return { code, signal, stdout, stderr, ms: performance.now() - started };
}

/** The options of `plinthInProcess`: no `input` (standard input stays the test's own). */
export type InProcessOptions = Omit<RunOptions, 'input'>;

let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs `plinth ...args` in this process, through the same commander program the
 * binary runs (`createProgram`), with what the binary's `runCli` adds: a thrown
 * error is one line on stderr and exit code 1; commander's own errors (unknown
 * option, invalid value) exit with commander's code. Standard output and error
 * are captured, `PLINTH_*` variables are those of `options.env` only, as for a
 * child. Much cheaper than spawning the binary: use it where the test is about
 * a command's behaviour, not about the process (exit, signals, stdin, stacks).
 * Runs one at a time (output capture is process-wide).
 */
export function plinthInProcess(args: string[], options: InProcessOptions = {}): Promise<RunResult> {
  const run = inProcessQueue.then(() => runInProcess(args, options));
  inProcessQueue = run.catch(() => undefined);
  return run;
}

async function runInProcess(args: string[], options: InProcessOptions): Promise<RunResult> {
  const started = performance.now();
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  const capture =
    (append: (text: string) => void) =>
    (chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'));
      const done = typeof encoding === 'function' ? encoding : callback;
      if (done) queueMicrotask(() => done());
      return true;
    };
  const savedEnv = { ...process.env };
  const savedExitCode = process.exitCode;
  const savedCwd = process.cwd();
  for (const key of Object.keys(process.env)) if (key.startsWith('PLINTH_')) delete process.env[key];
  Object.assign(process.env, options.env);
  if (options.cwd) process.chdir(options.cwd);
  process.exitCode = undefined;
  process.stdout.write = capture((text) => (stdout += text)) as typeof process.stdout.write;
  process.stderr.write = capture((text) => (stderr += text)) as typeof process.stderr.write;
  let code: number;
  try {
    const program = createProgram();
    const override = (c: Command): void => {
      c.exitOverride();
      c.commands.forEach(override);
    };
    override(program);
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = options.timeoutMs ?? 20_000;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`plinth ${args.join(' ')} did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([program.parseAsync(['node', 'plinth', ...args]), timeout]);
      code = Number(process.exitCode ?? 0);
    } catch (error) {
      if (error instanceof CommanderError) code = error.exitCode;
      else if (error instanceof Error && error.message.endsWith(`did not finish within ${timeoutMs} ms`)) throw error;
      else {
        reportError(error);
        code = 1;
      }
    } finally {
      clearTimeout(timer);
    }
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = savedExitCode;
    if (options.cwd) process.chdir(savedCwd);
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
  return { code, signal: null, stdout, stderr, ms: performance.now() - started };
}

export interface Served {
  child: ChildProcess;
  /** The URL from the "Plinth listening on ..." line (or the JSON line with --json). */
  url: string;
  stdout(): string;
  stderr(): string;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** Starts `plinth serve ...args` and resolves once it prints the URL it listens on. */
export function serve(args: string[], options: RunOptions = {}): Promise<Served> {
  const child = start(['serve', ...args], options);
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`plinth serve did not start within 15 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 15_000);
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      // The human line, or the JSON line printed with --json.
      const match = /^Plinth listening on (http:\/\/\S+)/m.exec(stdout) ?? /^\{"event":"listening","url":"(http:\/\/[^"]+)"/m.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        child,
        url: match[1]!,
        stdout: () => stdout,
        stderr: () => stderr,
        async stop(signal = 'SIGTERM') {
          const started = performance.now();
          child.kill(signal);
          const exit = await waitForExit(child, 10_000);
          return { ...exit, ms: performance.now() - started };
        },
      });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`plinth serve exited with ${code} before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}

/** A fresh empty directory, removed by the returned function. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'plinth-cli-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The JSON a command printed on stdout (fails with its stderr when there is none). */
export function jsonOf<T = any>(result: RunResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout, got ${JSON.stringify(result.stdout)} (exit ${result.code}, signal ${result.signal}); stderr: ${result.stderr}`);
  }
}

/** True when the output looks like a stack trace. */
export const hasStack = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

/**
 * Every migration the CLI's Plinth declares (kernel and built-in modules), as
 * `module/name`, in the order `migrate up` applies them. Derived from the
 * loaded modules, so a new built-in migration needs no test change.
 */
export async function declaredMigrationIds(): Promise<string[]> {
  const app = createPlinth({ databaseUrl: ':memory:', processEnv: false, logLevel: 'silent' });
  try {
    return app.modules.flatMap((m) => (m.migrations ?? []).map((migration) => `${m.name}/${migration.name}`));
  } finally {
    await app.close();
  }
}

/**
 * Creates users through the library, in-process (faster than spawning
 * `plinth users create` when creating them is not what the test is about).
 */
export async function seedUsers(
  databaseUrl: string,
  users: { email: string; name?: string; roles?: string[] }[],
  password = 'Quiet-Harbor-42',
): Promise<User[]> {
  const app = createPlinth({ databaseUrl, processEnv: false, logLevel: 'silent' });
  try {
    const identity = app.service<IdentityService>('identity');
    const created: User[] = [];
    for (const user of users) created.push(await identity.createUser({ ...user, password }, { actor: systemActor('test') }));
    return created;
  } finally {
    await app.close();
  }
}

/** A JSON call to a running server. */
export async function http(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; apiKey?: string } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  const res = await fetch(`${base}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The `kid` in a JWT's header. */
export const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;

/**
 * Prepares a database through the library, in-process (faster than spawning
 * `plinth migrate up` when the migration is not what the test is about).
 */
export async function prepareDatabase(databaseUrl: string, options: { migrate: boolean }): Promise<Plinth> {
  const app = createPlinth({ databaseUrl, processEnv: false, logLevel: 'silent' });
  await app.start({ migrate: options.migrate });
  return app;
}
