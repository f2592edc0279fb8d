import { Box, Text } from 'ink';
import { randomUUID } from 'node:crypto';
import { useState } from 'react';
import type { AdminClient } from '../api.js';
import { type Column, fit, money, when } from '../format.js';
import { paint, useConsole } from '../ui/context.js';
import { useAction, useLoad, usePaged } from '../ui/hooks.js';
import { allowed, ListTable, useListNav } from '../ui/list-screen.js';
import { Prompt } from '../ui/prompt.js';
import { useScreenKeys } from '../ui/use-keys.js';
import { move } from '../ui/virtual-list.js';
import type { ScreenDef } from './screen.js';

type Product = Awaited<ReturnType<AdminClient['getProduct']>>;
type Stock = Awaited<ReturnType<AdminClient['getStock']>>;
type Reason = Parameters<AdminClient['createAdjustment']>[0]['body']['reason'];

const adjustmentReasons = ['receipt', 'correction', 'damage', 'return'] as const satisfies readonly Reason[];

const bindings = [{ keys: ['a'], action: 'adjust', label: 'adjust stock of the selected SKU: "+5 receipt [note]" (needs inventory:adjust)' }] as const;

const columns: Column<Product>[] = [
  { title: 'Product', width: 0, value: (p) => p.name },
  { title: 'State', optional: true, width: 8, value: (p) => p.status },
  { title: 'SKUs', optional: true, width: 4, align: 'right', value: (p) => String(p.skus.length) },
  { title: 'Available', width: 9, align: 'right', value: (p) => String(p.skus.reduce((n, s) => n + s.available, 0)) },
  { title: 'From', width: 13, align: 'right', value: (p) => money(p.price) },
];

/** `+5 receipt note…` → the adjustment, or a reason it is not one. */
export function parseAdjustment(text: string): { delta: number; reason: (typeof adjustmentReasons)[number]; note?: string } | string {
  const match = /^\s*([+-]?\d{1,10})\s+(\w+)(?:\s+(.*))?$/.exec(text);
  if (!match) return 'Write it as: +5 receipt [note] (or -2 damage, +1 correction, +1 return)';
  const delta = Number(match[1]);
  if (!delta) return 'The change must not be 0';
  const reason = adjustmentReasons.find((r) => r === match[2]!.toLowerCase());
  if (!reason) return `Reason must be one of: ${adjustmentReasons.join(', ')}`;
  const note = match[3]?.trim();
  return { delta, reason, ...(note ? { note } : {}) };
}

type Mode = { kind: 'list' } | { kind: 'search' } | { kind: 'adjust'; sku: string };

function CatalogScreen() {
  const ctx = useConsole();
  const [q, setQ] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const [skuIndex, setSkuIndex] = useState(0);
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const list = usePaged((c, cursor) => c.listProducts({ query: { limit: 100, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) } }), [q]);
  const detail = useLoad(
    async (c, signal) => {
      if (!open) return null;
      const product = await c.getProduct({ params: { id: open } }, { signal });
      const stock = await Promise.all(product.skus.map((s) => c.getStock({ params: { sku: s.sku } }, { signal }).catch(() => null)));
      const sku = product.skus[Math.min(skuIndex, product.skus.length - 1)];
      const adjustments = sku ? await c.listAdjustments({ params: { sku: sku.sku }, query: { limit: 5 } }, { signal }).catch(() => ({ data: [] })) : { data: [] };
      return { product, stock, adjustments: adjustments.data };
    },
    [open, skuIndex],
  );
  const nav = useListNav(list.items.length, list);
  const selected = nav.selected;
  const { run } = useAction();
  const skus = detail.data?.product.skus ?? [];

  useScreenKeys(
    bindings,
    (action) => {
      if (action === 'back') {
        if (open) setOpen(null);
        else if (q) setQ('');
        return;
      }
      if (open && ['up', 'down', 'pageUp', 'pageDown', 'top', 'bottom'].includes(action)) return setSkuIndex((i) => move(action, i, skus.length, 5));
      if (!open && nav.handle(action)) return;
      if (action === 'search') return setMode({ kind: 'search' });
      if (action === 'open' && !open && list.items[selected]) {
        setSkuIndex(0);
        return setOpen(list.items[selected]!.id);
      }
      if (action === 'adjust') {
        if (!allowed(ctx, 'inventory:adjust', 'adjusting stock')) return;
        const sku = open ? skus[skuIndex]?.sku : list.items[selected]?.skus[0]?.sku;
        if (!sku) return;
        setMode({ kind: 'adjust', sku });
      }
    },
    mode.kind === 'list',
  );

  return (
    <Box flexDirection="column">
      {mode.kind === 'search' ? (
        <Prompt
          label="Search products:"
          initial={q}
          onCancel={() => setMode({ kind: 'list' })}
          onSubmit={(value) => {
            setMode({ kind: 'list' });
            nav.setSelected(0);
            setQ(value.trim());
          }}
        />
      ) : mode.kind === 'adjust' ? (
        <Prompt
          label={`Adjust ${mode.sku} (e.g. +5 receipt, -1 damage broken in transit):`}
          onCancel={() => setMode({ kind: 'list' })}
          onSubmit={(value) => {
            setMode({ kind: 'list' });
            const parsed = parseAdjustment(value);
            if (typeof parsed === 'string') return ctx.setStatus({ kind: 'error', text: parsed });
            const key = randomUUID();
            void run(
              `Adjusting ${mode.sku} by ${parsed.delta}`,
              (c) => c.createAdjustment({ params: { sku: mode.sku }, body: parsed }, { idempotencyKey: key }),
              (a) => `${a.sku}: ${a.delta > 0 ? '+' : ''}${a.delta} (${a.reason}) · on hand ${a.stock.onHand}, reserved ${a.stock.reserved}, available ${a.stock.available}`,
              () => {
                detail.reload();
                list.reload();
              },
            );
          }}
        />
      ) : (
        <Text dimColor>{q ? `Products matching "${q}" (esc clears)` : 'Products'}</Text>
      )}
      {open ? (
        detail.data ? (
          <Box flexDirection="column">
            <Text bold>
              {detail.data.product.name} · {detail.data.product.status} · v{detail.data.product.version}
            </Text>
            <Text bold>{ctx.color ? '' : '  '}{fit('SKU', 22)} {fit('Price', 13, 'right')} {fit('On hand', 8, 'right')} {fit('Reserved', 8, 'right')} {fit('Avail.', 8, 'right')}</Text>
            {detail.data.product.skus.map((s, i) => {
              const stock: Stock | null | undefined = detail.data!.stock[i];
              const line = `${fit(s.sku, 22)} ${fit(money(s.price), 13, 'right')} ${fit(String(stock?.onHand ?? '?'), 8, 'right')} ${fit(String(stock?.reserved ?? '?'), 8, 'right')} ${fit(String(stock?.available ?? s.available), 8, 'right')}`;
              return (
                <Text key={s.sku} inverse={ctx.color && i === skuIndex}>
                  {ctx.color ? line : `${i === skuIndex ? '>' : ' '} ${line}`}
                </Text>
              );
            })}
            <Text bold>Recent adjustments of {skus[skuIndex]?.sku}</Text>
            {detail.data.adjustments.length ? (
              detail.data.adjustments.map((a) => (
                <Text key={a.id}>
                  {'  '}
                  {when(a.createdAt)} {a.delta > 0 ? '+' : ''}
                  {a.delta} {a.reason} {a.note ?? ''}
                </Text>
              ))
            ) : (
              <Text dimColor>{'  '}none</Text>
            )}
          </Box>
        ) : (
          <Text color={detail.state === 'error' ? paint(ctx, 'red') : undefined}>{detail.state === 'error' ? detail.message : 'Loading…'}</Text>
        )
      ) : (
        <ListTable list={list} columns={columns} selected={selected} empty="No products match." />
      )}
    </Box>
  );
}

export const catalogScreen: ScreenDef = { id: 'catalog', title: 'Catalog', bindings, Component: CatalogScreen };
