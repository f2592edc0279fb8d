/**
 * What users install, works: every package is packed with `pnpm pack` (as
 * `pnpm publish` would), the tarballs are installed with npm into a scratch
 * project outside the workspace, and the quickstart runs from there — its
 * server, the client SDK from its tarball, the `plinth` binary, and the
 * published type declarations under Node's own module resolution.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const packages = ['core', 'server', 'client-sdk', 'cli', 'admin-tui'];
const tsc = join(root, 'node_modules/typescript/bin/tsc');

describe('the packed packages, installed with npm outside the workspace', () => {
  let scratch: string;

  beforeAll(async () => {
    for (const p of packages) {
      if (!existsSync(join(root, 'packages', p, 'dist'))) throw new Error(`packages/${p}/dist is missing: run \`pnpm build\` first`);
    }
    scratch = mkdtempSync(join(tmpdir(), 'plinth-packed-'));
    const tarballs = join(scratch, 'tarballs');
    mkdirSync(tarballs);
    await Promise.all(packages.map((p) => run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(root, 'packages', p) })));
    const files = readdirSync(tarballs);
    const dependencies: Record<string, string> = {};
    for (const p of packages) {
      const { name, version } = JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')) as { name: string; version: string };
      const file = `${name.replace('@', '').replace('/', '-')}-${version}.tgz`;
      expect(files).toContain(file);
      dependencies[name] = `file:./tarballs/${file}`;
    }
    const app = join(scratch, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module', dependencies }, null, 2));
    // Move the tarballs next to the app so the file: specs resolve from it.
    rmSync(join(app, 'tarballs'), { recursive: true, force: true });
    await run('mv', [tarballs, join(app, 'tarballs')]);
    // Registry packages come from npm's cache when it has them (the npm registry otherwise). Install scripts are
    // skipped: better-sqlite3's would download a prebuilt binary from GitHub, which this machine cannot reach...
    await run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, timeout: 150_000 });
    // ...so its native addon is taken from the workspace's copy: the same version, built for this Node.
    const workspaceSqlite = createRequire(join(root, 'packages/core/package.json')).resolve('better-sqlite3/package.json');
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe((JSON.parse(readFileSync(workspaceSqlite, 'utf8')) as { version: string }).version);
    mkdirSync(join(app, 'node_modules/better-sqlite3/build/Release'), { recursive: true });
    copyFileSync(join(workspaceSqlite, '../build/Release/better_sqlite3.node'), join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
    copyFileSync(join(root, 'examples/quickstart/index.mjs'), join(app, 'index.mjs'));
  }, 240_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('ships only dist (and package.json, README), with engines, types and public access declared', () => {
    for (const p of packages) {
      const pkg = JSON.parse(readFileSync(join(scratch, 'app/node_modules', p === 'client-sdk' ? '@plinth/client' : `@plinth/${p}`, 'package.json'), 'utf8')) as Record<string, any>;
      expect(pkg.engines?.node, p).toMatch(/^>=20/);
      expect(pkg.files, p).toEqual(['dist']);
      expect(pkg.publishConfig, p).toEqual({ access: 'public' });
      expect(JSON.stringify(pkg.dependencies ?? {}), p).not.toContain('workspace:');
      expect(pkg.exports['.'], p).toBeDefined();
      const dir = join(scratch, 'app/node_modules', pkg.name as string);
      expect(readdirSync(dir).filter((f) => !['dist', 'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(f)), p).toEqual([]);
      expect(existsSync(join(dir, (pkg.types as string) ?? 'missing')), `${p} types`).toBe(true);
    }
  });

  it('runs the quickstart from the installed packages and talks to it with the installed client', async () => {
    const app = join(scratch, 'app');
    const child = spawn(process.execPath, ['index.mjs'], {
      cwd: app,
      env: { ...process.env, PLINTH_PORT: '0', PLINTH_DATABASE_URL: `sqlite:${join(scratch, 'app.db')}`, PLINTH_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.once('exit', (code) => reject(new Error(`quickstart exited with ${code}: ${out}`)));
      });
      writeFileSync(
        join(app, 'client.mjs'),
        `import { createClient } from '@plinth/client';
const client = createClient({ baseUrl: process.argv[2] });
const health = await client.health();
const up = await client.signUp({ body: { email: 'packed@example.com', password: 'installed from tarballs' } });
const me = await client.getMe();
console.log(JSON.stringify({ health, email: me.email, same: me.id === up.user.id }));
`,
      );
      const { stdout } = await run(process.execPath, ['client.mjs', url], { cwd: app });
      expect(JSON.parse(stdout)).toEqual({ health: { status: 'ok' }, email: 'packed@example.com', same: true });
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }, 60_000);

  it('installs the plinth binary', async () => {
    const { stdout } = await run(process.execPath, [join(scratch, 'app/node_modules/@plinth/cli/dist/bin.js'), '--version'], { cwd: join(scratch, 'app') });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('resolves the published type declarations under NodeNext (a wrong field is a compile error)', async () => {
    const app = join(scratch, 'app');
    writeFileSync(
      join(app, 'check.ts'),
      `import { createPlinth, defineModule } from '@plinth/core';
import { defineRoute, kernelRoutes } from '@plinth/core/contract';
import { createServer } from '@plinth/server';
import { createClient, fileTokenStore, type PlinthClient } from '@plinth/client';
const plinth = createPlinth({ processEnv: false });
const server = createServer(plinth);
const mod = defineModule({ name: 'things' });
const client: PlinthClient = createClient({ baseUrl: 'http://localhost:1', tokens: fileTokenStore('t.json') });
export const ok: Promise<{ status: 'ok' }> = client.health();
export const refs = [server, mod, kernelRoutes, defineRoute];
// @ts-expect-error the password must be a string
void client.signIn({ body: { email: 'a@b.c', password: 1 } });
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['check.ts'] }),
    );
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: app }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    expect(result).toBe('');
  }, 120_000);
});
