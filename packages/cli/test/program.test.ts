import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasStack, plinth, plinthInProcess } from './cli.js';

// Every command's help text is checked in-process (help.test.ts): spawning each is slow.
const commands = [[], ['serve'], ['migrate'], ['migrate', 'up'], ['migrate', 'down'], ['migrate', 'status'], ['doctor'], ['users', 'create'], ['keys']];

describe('plinth', () => {
  it('prints help with --help and exits 0, as a process', async () => {
    const result = await plinth(['migrate', 'up', '--help']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('Usage: plinth migrate up ');
    expect(result.stdout).toContain('--database-url <url>');
  });

  it.each(commands.map((c) => [c.join(' ') || '(root)', c] as const))('prints help for %s with --help, with exit code 0', async (_name, command) => {
    const result = await plinthInProcess([...command, '--help']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`Usage: plinth${command.length ? ` ${command.join(' ')}` : ''} `);
    expect(result.stdout).toContain('--database-url <url>');
  });

  it('never takes a password from the command line', async () => {
    const result = await plinth(['users', 'create', '--email', 'ops@example.com', '--password', 'hunter2-hunter2']);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain("unknown option '--password'");
    expect(result.stdout + result.stderr).not.toContain('hunter2');
    const noFlag = await plinth(['users', 'create', '--email', 'ops@example.com']);
    expect(noFlag.code).toBe(1);
    expect(noFlag.stderr).toBe('error: Pass --password-stdin and give the password on standard input (it is never taken from the command line)\n');
    const nothingPiped = await plinth(['users', 'create', '--email', 'ops@example.com', '--password-stdin']);
    expect(nothingPiped.code).toBe(1);
    expect(nothingPiped.stderr).toMatch(/^error: No password on standard input: pipe it in \(`printf '%s' "\$PASSWORD" \| plinth users create \.\.\.`\)\n$/);
    const help = await plinth(['users', 'create', '--help']);
    expect(help.stdout).toContain('--password-stdin');
    expect(help.stdout).toContain('printf \'%s\' "$ADMIN_PASSWORD" | plinth users create --email ops@example.com --role admin --password-stdin');
  });

  it('prints the package version with --version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await plinth(['--version']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('rejects an unsupported database URL with exit code 1, naming the key, without a stack', async () => {
    const result = await plinth(['migrate', 'status', '--database-url', 'mysql://root:s3cret@x/db']);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^error: Invalid Plinth configuration: databaseUrl \(PLINTH_DATABASE_URL\): must be .+\n$/);
    expect(result.stderr).not.toContain('s3cret');
    expect(hasStack(result.stderr)).toBe(false);
  });

  it('names PLINTH_PORT when it is not a number, whatever the command', async () => {
    const result = await plinth(['migrate', 'status'], { env: { PLINTH_PORT: 'abc' } });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toMatch(/PLINTH_PORT/);
    expect(hasStack(result.stderr)).toBe(false);
  });

  it('prints the stack only with PLINTH_DEBUG=1, still without the password', async () => {
    const result = await plinth(['migrate', 'status', '--database-url', 'mysql://root:s3cret@x/db'], { env: { PLINTH_DEBUG: '1' } });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(hasStack(result.stderr)).toBe(true);
    expect(result.stderr).not.toContain('s3cret');
  });

  it('exits non-zero on an unknown command or option', async () => {
    expect((await plinthInProcess(['frobnicate'])).code).not.toBe(0);
    const bad = await plinthInProcess(['serve', '--port', 'abc']);
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stderr).toContain("option '-p, --port <n>' argument 'abc' is invalid");
  });

  it('rejects `migrate down --steps 0` before touching the database', async () => {
    const result = await plinthInProcess(['migrate', 'down', '--steps', '0']);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain("option '--steps <n>' argument '0' is invalid");
  });

  it('exits 1 with one line, no stack and no password when PostgreSQL is unreachable', async () => {
    const result = await plinth(['migrate', 'status', '--database-url', 'postgres://postgres:s3cret@127.0.0.1:1/nowhere']);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^error: The database cannot be reached: .*ECONNREFUSED.*\n$/);
    expect(result.stderr + result.stdout).not.toContain('s3cret');
    expect(hasStack(result.stderr)).toBe(false);
  });

  it('prints { ok: false, error } on stdout with --json', async () => {
    const result = await plinthInProcess(['migrate', 'up', '--json', '--database-url', 'mysql://x']);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: false,
      error: { code: 'config.invalid', message: expect.stringContaining('PLINTH_DATABASE_URL') },
    });
  });
});
