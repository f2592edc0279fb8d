import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// In-process tests import the packages' sources; tests that spawn `plinth`
// run the built CLI (the test command builds first).
const alias = [
  { find: /^@plinth\/core\/contract$/, replacement: src('core/src/contract/index.ts') },
  { find: /^@plinth\/core\/testing$/, replacement: src('core/src/testing/index.ts') },
  { find: /^@plinth\/core$/, replacement: src('core/src/index.ts') },
  { find: /^@plinth\/server$/, replacement: src('server/src/index.ts') },
  { find: /^@plinth\/client\/node$/, replacement: src('client-sdk/src/node.ts') },
  { find: /^@plinth\/client$/, replacement: src('client-sdk/src/index.ts') },
  { find: /^@plinth\/admin-tui\/credentials$/, replacement: src('admin-tui/src/credentials.ts') },
  { find: /^@plinth\/admin-tui\/charts$/, replacement: src('admin-tui/src/charts.ts') },
  { find: /^@plinth\/admin-tui$/, replacement: src('admin-tui/src/index.ts') },
];

const project = (name: string, dir: string) => ({
  extends: true as const,
  test: { name, root: `packages/${dir}`, include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'] },
});

// CI asks for a JSON report too (.ci/run reads the pass/fail counts from it).
const jsonReport = process.env.PLINTH_VITEST_JSON_REPORT;

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: jsonReport ? ['default', 'json'] : ['default'],
    outputFile: jsonReport ? { json: jsonReport } : undefined,
    // Ink draws only the final frame when it believes it runs in CI (the CI
    // variable); the console tests drive a live terminal, as a user would.
    env: { CI: 'false', CONTINUOUS_INTEGRATION: 'false' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      project('core', 'core'),
      project('server', 'server'),
      project('client-sdk', 'client-sdk'),
      project('cli', 'cli'),
      project('admin-tui', 'admin-tui'),
      { extends: true as const, test: { name: 'examples', root: 'examples', include: ['*/**/*.test.ts'], exclude: ['**/node_modules/**'] } },
    ],
  },
});
