import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../src/program.js';

/** Every command below the root, as its argv path. */
function paths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

/** Runs `plinth ...argv --help` in-process and answers what it printed. */
async function help(argv: string[]): Promise<string> {
  const program = createProgram();
  let out = '';
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: (text) => void (out += text), writeErr: (text) => void (out += text) });
    c.commands.forEach(quiet);
  };
  quiet(program);
  await expect(program.parseAsync(['node', 'plinth', ...argv, '--help'])).rejects.toMatchObject({ code: 'commander.helpDisplayed' });
  return out;
}

describe('plinth help', () => {
  const all = paths(createProgram()).filter((p) => p.at(-1) !== 'help');

  it('has the operator commands of the identity issue', () => {
    const names = all.map((p) => p.join(' '));
    for (const name of ['users create', 'users list', 'users disable', 'users enable', 'users set-role', 'keys create', 'keys list', 'keys revoke', 'keys rotate', 'keys signing', 'keys rotate-encryption']) {
      expect(names).toContain(name);
    }
  });

  it.each(all.map((p) => [p.join(' '), p] as const))('prints help for %s, with the global options', async (name, argv) => {
    const text = await help(argv);
    expect(text).toMatch(new RegExp(`^Usage: plinth ${name}(\\|\\S+)? `));
    expect(text).toContain('--database-url <url>');
    expect(text).toContain('--json');
  });

  it('checks option values before touching a database', async () => {
    const program = createProgram();
    const errors: string[] = [];
    const quiet = (c: Command): void => {
      c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: (text) => void errors.push(text) });
      c.commands.forEach(quiet);
    };
    quiet(program);
    await expect(program.parseAsync(['node', 'plinth', 'users', 'list', '--status', 'gone'])).rejects.toMatchObject({ code: 'commander.invalidArgument' });
    await expect(program.parseAsync(['node', 'plinth', 'users', 'list', '--limit', '0'])).rejects.toMatchObject({ code: 'commander.invalidArgument' });
    await expect(program.parseAsync(['node', 'plinth', 'keys', 'create', '--user', 'x', '--name', 'y', '--expires', 'soon'])).rejects.toMatchObject({
      code: 'commander.invalidArgument',
    });
    expect(errors.join('')).toContain("argument 'gone' is invalid. Allowed choices are active, disabled.");
    expect(errors.join('')).toContain("argument 'soon' is invalid. must be an ISO time (2027-01-31T00:00:00Z) or a duration (30d, 12h).");
  });
});
