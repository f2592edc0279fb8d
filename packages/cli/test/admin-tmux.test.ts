/**
 * End to end: `plinth login`, then `plinth admin --url` inside a real terminal
 * (tmux), driven by keystrokes. A user is found and disabled, an order is
 * refunded; the pane shows it and the API agrees.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { PlinthClient } from '@plinth/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Shop, startShop } from './admin-support.js';
import { bin, jsonOf, plinth, tempDir } from './cli.js';

const socket = `plinth-admin-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const pane = () => tmux('capture-pane', '-p', '-t', 'admin');
const keys = (...k: string[]) => tmux('send-keys', '-t', 'admin', ...k);
const text = (t: string) => tmux('send-keys', '-t', 'admin', '-l', t);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function paneWith(check: string | ((screen: string) => boolean), timeout = 20_000): Promise<string> {
  return vi.waitFor(
    () => {
      const screen = pane();
      const ok = typeof check === 'string' ? screen.includes(check) : check(screen);
      if (!ok) throw new Error(`${typeof check === 'string' ? `"${check}"` : 'condition'} not on the screen:\n${screen}`);
      return screen;
    },
    { timeout, interval: 100 },
  );
}

describe('plinth admin in a terminal', () => {
  let shop: Shop;
  let admin: PlinthClient;
  const config = tempDir();

  beforeAll(async () => {
    shop = await startShop();
    admin = await shop.signIn(shop.seed.accounts.admin);
  }, 180_000);
  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {
      // Already gone: the console quit and its session ended.
    }
    config.remove();
    await shop?.stop();
  });

  it('logs in, finds and disables a user, refunds an order, and quits on q', async () => {
    const env = { PLINTH_CONFIG_DIR: config.path };
    const login = await plinth(['login', '--url', shop.url, '--email', shop.seed.accounts.admin, '--password-stdin', '--json'], { env, input: `${shop.password}\n`, timeoutMs: 30_000 });
    expect(login.code, login.stderr).toBe(0);
    expect(jsonOf(login)).toMatchObject({ url: shop.url, email: shop.seed.accounts.admin, roles: ['admin'] });
    const credentials = join(config.path, 'credentials.json');
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
    expect(login.stdout + login.stderr).not.toContain(shop.password);

    const command = `env NO_COLOR=1 PLINTH_CONFIG_DIR='${config.path}' '${process.execPath}' '${bin}' admin --url '${shop.url}' --refresh 1`;
    tmux('new-session', '-d', '-s', 'admin', '-x', '80', '-y', '24', command);

    // The dashboard comes first, refreshing by itself.
    const dashboard = await paneWith((s) => s.includes('Orders today') && /Requests\/s\s+\d/.test(s));
    console.log(`dashboard at 80x24:\n${dashboard}`);
    const summary = await admin.ordersSummary();
    expect(dashboard).toMatch(new RegExp(`Orders today\\s+${summary.orders}\\b`));

    // Find a user and disable them.
    const email = shop.seed.accounts.customers[5]!;
    keys('2');
    await paneWith(shop.seed.accounts.customers[0]!);
    keys('/');
    await paneWith('Search users:');
    await pause(200);
    text(email);
    keys('Enter');
    await paneWith(`> ${email}`);
    keys('d');
    await paneWith(`Disable ${email}?`);
    keys('y');
    await paneWith(`${email} is disabled`);
    const row = new RegExp(`> ${email.replace(/\./g, '\\.')}\\s+\\S+ Demo\\s+disabled`);
    expect(await paneWith((s) => row.test(s))).toContain(`${email} is disabled`);
    const user = (await admin.adminListUsers({ query: { q: email } })).data[0]!;
    expect(user.status).toBe('disabled');
    await expect(shop.signIn(email)).rejects.toMatchObject({ status: 403, code: 'auth.account_disabled' });

    // Refund a paid order in full.
    keys('3');
    await paneWith('Orders: any state');
    keys('s');
    await paneWith('Orders: pending_payment');
    keys('s');
    const paid = (await admin.listOrders({ query: { status: 'paid' } })).data[0]!;
    // At 80 columns the id is cut: the row starts with its first characters.
    await paneWith(`> ${paid.id.slice(0, 18)}`);
    keys('Enter');
    await paneWith('History');
    keys('$');
    await paneWith('Refund how much');
    await pause(200);
    keys('Enter');
    const total = `${(paid.total.amount / 100).toFixed(2)} ${paid.total.currency}`;
    // Long lines wrap or are cut at 80 columns: compare with whitespace folded, on the line's start.
    const flat = (s: string) => s.replace(/\s+/g, ' ');
    await paneWith((s) => flat(s).includes(`Refund ${total} on order ${paid.id.slice(0, 18)}`));
    keys('y');
    const refunded = await paneWith((s) => flat(s).includes(`✓ Refunded ${total} on ${paid.id.slice(0, 18)}`));
    expect(refunded).not.toMatch(/\bat .+:\d+:\d+/);
    expect(await admin.getOrder({ params: { id: paid.id } })).toMatchObject({ status: 'refunded', refunded: { amount: paid.total.amount } });

    // ? lists the keys, q quits (the terminal session ends with the process).
    keys('?');
    await paneWith('Keys on Orders');
    keys('Escape');
    await paneWith((s) => !s.includes('Keys on Orders'));
    keys('q');
    await vi.waitFor(
      () => {
        expect(() => tmux('has-session', '-t', 'admin')).toThrow();
      },
      { timeout: 15_000, interval: 100 },
    );

    // logout revokes the saved session on the server and forgets it.
    const logout = await plinth(['logout', '--url', shop.url], { env, timeoutMs: 30_000 });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toContain(`Signed out of ${shop.url}`);
    expect(() => statSync(credentials)).toThrow();
  }, 240_000);
});
