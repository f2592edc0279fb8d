import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from '../../../scripts/reference-docs.mjs';
import { configSchema, envKeys, parseConfig } from '../src/config.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  const rendered = renderConfigurationDoc({ configSchema, envKeys, parseConfig }, read('../src/config.ts'), ts);

  it('is what scripts/reference-docs.mjs renders from the config schema (regenerate it after changing config.ts)', () => {
    expect(read('../../../docs/configuration.md')).toBe(rendered);
  });

  it('lists every environment variable and every default a fresh config gets', () => {
    for (const name of Object.values(envKeys)) expect(rendered).toContain(`\`${name}\``);
    const defaults = parseConfig({});
    expect(rendered).toContain(`| \`http.port\` | \`PLINTH_PORT\` | integer 0–65535 | \`${defaults.http.port}\` |`);
    expect(rendered).toContain(`| \`jobs.leaseSeconds\` | \`PLINTH_JOBS_LEASE_SECONDS\` | integer 1–3600 | \`${defaults.jobs.leaseSeconds}\` |`);
    expect(rendered).toMatch(/\| `env` \| `PLINTH_ENV` \| `development` \\\| `production` \| `development` \|/);
  });

  it('refuses a config key without a JSDoc comment', () => {
    const source = read('../src/config.ts').replace('/** Port; default 8080 (0 picks a free one). */', '');
    expect(() => renderConfigurationDoc({ configSchema, envKeys, parseConfig }, source, ts)).toThrow(/http\.port/);
  });
});
