import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient, isPlinthApiError } from '@plinth/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wishlistRoutes } from './src/wishlists/contract.js';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('.', import.meta.url));
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
const staff = { email: 'staff@shop.example', password: 'brass lamps and ledgers' };

/** Starts a node script of the example; resolves with the process and what it printed, once `pattern` shows up. */
async function startScript(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = pattern.exec(out);
      if (m) resolve(m);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)));
  });
  return { child, match, output: () => out };
}

describe('examples/shop', () => {
  let data: string;
  let server: ChildProcess | undefined;
  let url: string;

  beforeAll(async () => {
    // The example is TypeScript: compile it as its README says (this also type-checks the SDK calls).
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir });
    data = mkdtempSync(join(tmpdir(), 'plinth-shop-'));
    const started = await startScript(
      ['dist/server.js'],
      {
        PLINTH_PORT: '0',
        PLINTH_DATABASE_URL: `sqlite:${join(data, 'shop.db')}`,
        PLINTH_LOG_LEVEL: 'warn',
        PLINTH_MAIL_DIR: join(data, 'mail'),
        SHOP_STAFF_EMAIL: staff.email,
        SHOP_STAFF_PASSWORD: staff.password,
      },
      /shop listening on (http:\/\/\S+)/,
    );
    server = started.child;
    url = started.match[1]!;
  }, 120_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(data, { recursive: true, force: true });
  });

  it('a customer wishes for an out-of-stock lamp and is notified (in the app and by mail) when staff receive stock', async () => {
    const customer = await startScript(['dist/customer.js', url, 'casey@example.com'], { SHOP_TOKENS_FILE: join(data, 'tokens.json'), SHOP_WAIT_MS: '60000' }, /wished for (\S+) \((\d+) available\)/);
    expect(customer.match[1]).toBe('LAMP-1');
    expect(customer.match[2]).toBe('0');

    const staffClient = createClient({ baseUrl: url });
    await staffClient.signIn({ body: staff });
    const adjustment = await staffClient.createAdjustment({ params: { sku: 'LAMP-1' }, body: { delta: 5, reason: 'receipt' } });
    expect(adjustment.stock.available).toBe(5);

    const [code] = await once(customer.child, 'exit');
    expect(customer.output()).toContain('notice: LAMP-1 is back in stock (5 available)');
    expect(code).toBe(0);

    // The mail job ran too (the development transport writes each message to a file).
    await expect.poll(() => readdirSync(join(data, 'mail')).length, { timeout: 30_000 }).toBeGreaterThan(0);
    const mails = readdirSync(join(data, 'mail')).map((f) => readFileSync(join(data, 'mail', f), 'utf8'));
    expect(mails.some((m) => m.includes('casey@example.com') && m.includes('Back in stock: LAMP-1'))).toBe(true);
  }, 120_000);

  it('answers the module routes with validation, access and not-found problems; adds appear in /openapi.json', async () => {
    const anonymous = createClient({ baseUrl: url, routes: wishlistRoutes });
    const unauth = await anonymous.listWishes().catch((e: unknown) => e);
    expect(isPlinthApiError(unauth) && unauth.status).toBe(401);

    const dana = createClient({ baseUrl: url, routes: wishlistRoutes });
    await dana.signUp({ body: { email: 'dana@example.com', password: 'another long passphrase' } });
    const bad = await dana.addWish({ body: { sku: '' } }).catch((e: unknown) => e);
    expect(isPlinthApiError(bad) && bad.code).toBe('validation.failed');
    const unknown = await dana.addWish({ body: { sku: 'NOPE-1' } }).catch((e: unknown) => e);
    expect(isPlinthApiError(unknown) && unknown.code).toBe('wishlists.sku_not_found');

    const wish = await dana.addWish({ body: { sku: 'LAMP-1' } });
    const again = await dana.addWish({ body: { sku: 'LAMP-1' } }).catch((e: unknown) => e);
    expect(isPlinthApiError(again) && again.code).toBe('wishlists.already_wished');
    // In stock when wished: listed, and no notice is waiting for it.
    expect((await dana.listWishes()).data).toEqual([expect.objectContaining({ id: wish.id, sku: 'LAMP-1', notifiedAt: null })]);

    // Someone else's wish is not found for another customer.
    const erin = createClient({ baseUrl: url, routes: wishlistRoutes });
    await erin.signUp({ body: { email: 'erin@example.com', password: 'yet another passphrase' } });
    const foreign = await erin.removeWish({ params: { id: wish.id } }).catch((e: unknown) => e);
    expect(isPlinthApiError(foreign) && foreign.code).toBe('wishlists.item_not_found');
    await dana.removeWish({ params: { id: wish.id } });
    expect((await dana.listWishes()).data).toEqual([]);

    const openapi = (await anonymous.openapi()) as { paths: Record<string, Record<string, { operationId: string }>> };
    expect(openapi.paths['/v1/wishlist/items']?.post?.operationId).toBe('addWish');
  }, 60_000);

  it('a wrong field in a call of the module is a compile error', async () => {
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.type-errors.json', '--pretty', 'false'], { cwd: dir }).then(
      () => ({ code: 0, out: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
    );
    expect(result.code).not.toBe(0);
    const lines = result.out.split('\n').filter((l) => l.includes('error TS'));
    const fixture = readFileSync(join(dir, 'type-errors', 'wrong-fields.ts'), 'utf8').split('\n');
    const expected = fixture.flatMap((line, i) => (line.includes('// ERROR') ? [i + 1] : []));
    const reported = [...new Set(lines.map((l) => Number(/wrong-fields\.ts\((\d+),/.exec(l)?.[1])))];
    expect(reported).toEqual(expected);
  }, 120_000);
});
