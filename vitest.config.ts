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

const project = (name: string, dir: string, setupFiles: string[] = []) => ({
  extends: true as const,
  test: { name, root: `packages/${dir}`, include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'], setupFiles },
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
    // Most of a test's time is waiting (on PostgreSQL, on a child process, on a
    // server): two files at a time keep a 2-core machine busy. Vitest's default
    // would be one (cores - 1).
    maxWorkers: 2,
    // A worker keeps the modules it loaded for its next file instead of loading
    // core, server and CLI sources again for each (that was a third of the
    // suite's time). Tests never rely on fresh module state: each opens its own
    // database and app; hooks are registered by test files or setup files,
    // never at the top of a shared helper (setup files still run per file).
    isolate: false,
    projects: [
      project('core', 'core'),
      project('server', 'server'),
      project('client-sdk', 'client-sdk'),
      project('cli', 'cli', ['test/setup.ts']),
      project('admin-tui', 'admin-tui'),
      { extends: true as const, test: { name: 'examples', root: 'examples', include: ['*/**/*.test.ts'], exclude: ['**/node_modules/**'] } },
    ],
  },
});
