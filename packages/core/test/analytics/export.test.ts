/**
 * A large export streams: 100,000 rollup rows leave the server a page at a
 * time, with backpressure, while the heap stays far below the export's size.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { AnalyticsEvent } from '../../src/index.js';
import { dialects } from '../../src/testing/index.js';
import { useHarness } from '../support/harness.js';
import { openShop } from './support.js';

// A full collection on demand: the heap is then what is alive, not garbage waiting for the collector.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const live = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

const DAYS = 50;
const PRODUCTS = 1000; // per day: a units row and a revenue row each → 50 × 1000 × 2 = 100,000 rows
const ITEMS_PER_ORDER = 100;
/** Long product ids make the export big (≈ 45 MB) so that buffering it would show. */
const pad = 'x'.repeat(360);
const productId = (p: number) => `product-${String(p).padStart(4, '0')}-${pad}`;

function paidEvents(): AnalyticsEvent[] {
  const events: AnalyticsEvent[] = [];
  const start = Date.UTC(2025, 0, 1, 12);
  let seq = 0;
  for (let d = 0; d < DAYS; d++) {
    for (let o = 0; o < PRODUCTS / ITEMS_PER_ORDER; o++) {
      const items = Array.from({ length: ITEMS_PER_ORDER }, (_, i) => {
        const p = o * ITEMS_PER_ORDER + i;
        return { sku: `S${p}`, productId: productId(p), categoryId: null, quantity: 1 + (p % 3), lineTotal: 100 * (1 + (p % 3)) };
      });
      const total = items.reduce((a, i) => a + i.lineTotal, 0);
      events.push({
        id: `00000000-0000-7000-8000-${String(++seq).padStart(12, '0')}`,
        type: 'order.paid',
        payload: { id: `order-${seq}`, userId: null, paymentId: `pay-${seq}`, total: { amount: total, currency: 'EUR' }, items },
        createdAt: new Date(start + d * 86_400_000).toISOString(),
      });
    }
  }
  return events;
}

describe.each(dialects)('analytics export on %s', (dialect) => {
  const h = useHarness();

  it('streams 100,000 rows with bounded memory', { timeout: 600_000 }, async () => {
    const shop = await openShop(h, dialect);
    const events = paidEvents();
    for (let i = 0; i < events.length; i += 25) await shop.analytics.apply(events.slice(i, i + 25));
    const rows = Number(
      ((await shop.app.plinth.db
        .selectFrom('analytics_rollups')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('grain', '=', 'day')
        .where('metric', 'in', ['product.units', 'product.revenue'])
        .executeTakeFirst()) as { n: unknown }).n,
    );
    expect(rows).toBe(100_000);

    const baseline = live();
    let peak = baseline;
    const res = await fetch(`${shop.app.url}/v1/reports/products/export?format=csv&from=2025-01-01&to=2025-02-19`, { headers: { authorization: `Bearer ${shop.staff.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBeNull(); // chunked: nothing was measured up front
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let bytes = 0;
    let lines = 0;
    let tail = '';
    let first = '';
    let last = '';
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      chunks++;
      const text = tail + decoder.decode(value, { stream: true });
      const parts = text.split('\r\n');
      tail = parts.pop()!;
      if (!first) first = parts[0] ?? '';
      lines += parts.length;
      if (parts.length) last = parts[parts.length - 1]!;
      if (chunks % 50 === 0) {
        peak = Math.max(peak, live()); // what the server (and this reader) hold mid-stream
        await new Promise((r) => setTimeout(r, 1)); // a slow reader: backpressure holds the server back
      }
    }

    expect(tail).toBe('');
    expect(first).toBe('bucket,metric,dimension,value');
    expect(lines).toBe(100_001);
    expect(last).toBe(`2025-02-19,product.units,${productId(PRODUCTS - 1)},${1 + ((PRODUCTS - 1) % 3)}`);
    expect(bytes).toBeGreaterThan(40_000_000);
    const grew = peak - baseline;
    expect(chunks).toBeGreaterThan(100);
    // Holding the export (or its rows) would keep 40+ MB alive; a page at a time keeps a few.
    expect(grew, `live heap grew ${(grew / 1e6).toFixed(1)} MB for a ${(bytes / 1e6).toFixed(1)} MB export`).toBeLessThan(12_000_000);
    console.log(`[export ${dialect}] ${lines - 1} rows, ${(bytes / 1e6).toFixed(1)} MB streamed; live heap peak +${(grew / 1e6).toFixed(1)} MB`);
  });
});
