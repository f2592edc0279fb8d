import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileTokenStore, forgetServer, savedServer } from './credentials.js';
import { fit, layout, money, parseAmount, row } from './format.js';
import { actionFor, globalBindings, listBindings } from './key-bindings.js';
import { httpTotals, parseMetrics } from './metrics.js';
import { parseAdjustment } from './screens/catalog.js';

describe('console pieces', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('money in and out of minor units, per currency', () => {
    expect(money({ amount: 123456, currency: 'EUR' })).toBe('1234.56 EUR');
    expect(money({ amount: 500, currency: 'JPY' })).toBe('500 JPY');
    expect(parseAmount('12.5', 'EUR')).toBe(1250);
    expect(parseAmount(' 3 ', 'EUR')).toBe(300);
    expect(parseAmount('1.234', 'EUR')).toBeUndefined();
    expect(parseAmount('-1', 'EUR')).toBeUndefined();
    expect(parseAmount('12.5', 'JPY')).toBeUndefined();
    expect(parseAmount('abc', 'EUR')).toBeUndefined();
  });

  it('columns fit the width; optional ones drop first when narrow', () => {
    const cols = [
      { title: 'Id', width: 0, value: (r: { id: string }) => r.id },
      { title: 'When', width: 16, optional: true, value: () => '2026-11-21 10:00' },
      { title: 'Total', width: 10, align: 'right' as const, value: () => '1.00 EUR' },
    ];
    const wide = layout(cols, 80);
    expect(wide[1]).toBe(16);
    expect(row(cols, wide, { id: 'x' })).toHaveLength(80);
    const narrow = layout(cols, 30);
    expect(narrow[1]).toBe(0);
    expect(row(cols, narrow, { id: 'abcdefghijklmnopqrstuvwxyz' })).toHaveLength(30);
    expect(fit('abcdef', 4)).toBe('abc…');
  });

  it('stock adjustments are parsed from one line, with readable refusals', () => {
    expect(parseAdjustment('+5 receipt pallet 7')).toEqual({ delta: 5, reason: 'receipt', note: 'pallet 7' });
    expect(parseAdjustment('-2 damage')).toEqual({ delta: -2, reason: 'damage' });
    expect(parseAdjustment('0 receipt')).toBe('The change must not be 0');
    expect(parseAdjustment('+1 because')).toMatch(/Reason must be one of/);
    expect(parseAdjustment('five')).toMatch(/Write it as/);
  });

  it('reads Prometheus text: HTTP totals and 5xx', () => {
    const samples = parseMetrics(
      ['# HELP x', 'plinth_http_requests_total{method="GET",route="/a",status="200"} 10', 'plinth_http_requests_total{method="GET",route="/b",status="503"} 2', 'plinth_outbox_pending 3'].join('\n'),
    );
    expect(httpTotals(samples)).toEqual({ requests: 12, errors: 2 });
    expect(samples.find((s) => s.name === 'plinth_outbox_pending')?.value).toBe(3);
  });

  it('keys are data: each key maps to one action', () => {
    expect(actionFor('j', listBindings)).toBe('down');
    expect(actionFor('up', listBindings)).toBe('up');
    expect(actionFor('q', globalBindings)).toBe('quit');
    expect(actionFor('3', globalBindings)).toBe('screen');
    const all = [...globalBindings, ...listBindings].flatMap((b) => b.keys);
    expect(new Set(all).size).toBe(all.length);
  });

  it('the credentials file is private (0600), keeps tokens per server, and is removed when empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-cred-'));
    dirs.push(dir);
    const path = join(dir, 'nested', 'credentials.json');
    const store = fileTokenStore('http://a.test', { path, email: () => 'a@x.test' });
    expect(store.get()).toBeNull();
    store.set({ accessToken: 'at', refreshToken: 'rt', expiresAt: 1 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    expect(store.get()).toEqual({ accessToken: 'at', refreshToken: 'rt', expiresAt: 1 });
    expect(savedServer('http://a.test', path)?.email).toBe('a@x.test');
    expect(savedServer('http://b.test', path)).toBeUndefined();
    expect(forgetServer('http://a.test', path)).toBe(true);
    expect(() => statSync(path)).toThrow();
    expect(forgetServer('http://a.test', path)).toBe(false);
  });
});
