import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { renderCliDoc } from '../../../scripts/reference-docs.mjs';
import { createProgram } from '../src/program.js';

/** Every command below the root, as `plinth a b`. */
function paths(command: Command, prefix = 'plinth'): string[] {
  return command.commands.filter((c) => c.name() !== 'help').flatMap((c) => [`${prefix} ${c.name()}`, ...paths(c, `${prefix} ${c.name()}`)]);
}

describe('docs/cli.md', () => {
  const rendered = renderCliDoc(createProgram());

  it('is what scripts/reference-docs.mjs renders from the commander program (regenerate it after changing a command)', () => {
    expect(readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8')).toBe(rendered);
  });

  it('documents every command with its usage and every option', () => {
    const program = createProgram();
    for (const path of paths(program)) expect(rendered).toContain(`### \`${path}\``);
    const walk = (c: Command): void => {
      for (const o of c.options) expect(rendered, `${c.name()} ${o.flags}`).toContain(`\`${o.flags}\``);
      c.commands.forEach(walk);
    };
    walk(program);
    expect(rendered).toContain('plinth serve [options]');
  });
});
