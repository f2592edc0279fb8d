import { Box, Text } from 'ink';
import { randomUUID } from 'node:crypto';
import { useState } from 'react';
import type { AdminClient } from '../api.js';
import { type Column, money, parseAmount, when } from '../format.js';
import { paint, useConsole } from '../ui/context.js';
import { useAction, useLoad, usePaged } from '../ui/hooks.js';
import { allowed, ListTable, useConfirm, useListNav } from '../ui/list-screen.js';
import { Prompt } from '../ui/prompt.js';
import { useScreenKeys } from '../ui/use-keys.js';
import type { ScreenDef } from './screen.js';

type Order = Awaited<ReturnType<AdminClient['getOrder']>>;

/** The order states, in the order `s` cycles through them. */
const orderStatuses = ['pending_payment', 'paid', 'fulfilled', 'partially_refunded', 'refunded', 'cancelled', 'expired'] as const satisfies readonly Order['status'][];
type Payment = Awaited<ReturnType<AdminClient['listPayments']>>['data'][number];

const bindings = [
  { keys: ['s'], action: 'state', label: 'filter by state (cycles)' },
  { keys: ['t'], action: 'date', label: 'filter by date: all, today, 7 days, 30 days' },
  { keys: ['f'], action: 'fulfil', label: 'fulfil a paid order' },
  { keys: ['c'], action: 'cancel', label: 'cancel an unpaid order' },
  { keys: ['$'], action: 'refund', label: 'refund all or part (asks the amount, then to confirm)' },
] as const;

const windows = [
  { label: 'any date', days: 0 },
  { label: 'today', days: 1 },
  { label: 'last 7 days', days: 7 },
  { label: 'last 30 days', days: 30 },
] as const;

function since(days: number): string | undefined {
  if (!days) return undefined;
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  return new Date(d.getTime() - (days - 1) * 86_400_000).toISOString();
}

const columns: Column<Order>[] = [
  { title: 'Order', width: 0, value: (o) => o.id },
  { title: 'Placed', optional: true, width: 16, value: (o) => when(o.createdAt) },
  { title: 'State', width: 18, value: (o) => o.status },
  { title: 'Items', optional: true, width: 5, align: 'right', value: (o) => String(o.items.reduce((n, i) => n + i.quantity, 0)) },
  { title: 'Total', width: 13, align: 'right', value: (o) => money(o.total) },
];

type Mode = { kind: 'list' } | { kind: 'search' } | { kind: 'amount'; order: Order; left: number };

function OrdersScreen() {
  const ctx = useConsole();
  const [state, setState] = useState<number>(-1);
  const [window, setWindow] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const status = state >= 0 ? orderStatuses[state] : undefined;
  const from = since(windows[window]!.days);
  const list = usePaged(
    (c, cursor) => c.listOrders({ query: { limit: 100, ...(status ? { status } : {}), ...(from ? { since: from } : {}), ...(cursor ? { cursor } : {}) } }),
    [status, from],
  );
  const detail = useLoad(
    async (c, signal) => {
      if (!open) return null;
      const [order, payments] = await Promise.all([c.getOrder({ params: { id: open } }, { signal }), c.listPayments({ params: { id: open }, query: { limit: 20 } }, { signal })]);
      return { order, payments: payments.data };
    },
    [open],
  );
  const nav = useListNav(list.items.length, list);
  const confirm = useConfirm();
  const { run } = useAction();
  const current = open ? (detail.data?.order ?? undefined) : list.items[nav.selected];
  const refresh = () => {
    list.reload();
    detail.reload();
  };

  useScreenKeys(
    bindings,
    (action) => {
      if (action === 'back') return open ? setOpen(null) : undefined;
      if (!open && nav.handle(action)) return;
      if (action === 'state' || action === 'date') {
        if (action === 'state') setState((s) => (s + 2 > orderStatuses.length ? -1 : s + 1));
        else setWindow((w) => (w + 1) % windows.length);
        nav.setSelected(0);
        setOpen(null);
        return;
      }
      if (action === 'search') return setMode({ kind: 'search' });
      if (action === 'open' && !open && current) return setOpen(current.id);
      if (!current) return;
      const order = current;
      if (action === 'fulfil') {
        confirm.ask(`Fulfil order ${order.id} (${money(order.total)})?`, () =>
          void run(`Fulfilling ${order.id}`, (c) => c.fulfilOrder({ params: { id: order.id }, body: { version: order.version } }), (o) => `Order ${o.id} is ${o.status}`, refresh),
        );
      } else if (action === 'cancel') {
        confirm.ask(`Cancel order ${order.id} and release its stock?`, () =>
          void run(`Cancelling ${order.id}`, (c) => c.cancelOrder({ params: { id: order.id }, body: { version: order.version } }), (o) => `Order ${o.id} is ${o.status}`, refresh),
        );
      } else if (action === 'refund') {
        if (!allowed(ctx, 'payments:refund', 'refunding')) return;
        const left = order.total.amount - order.refunded.amount;
        if (!['paid', 'fulfilled', 'partially_refunded'].includes(order.status) || left <= 0) {
          return ctx.setStatus({ kind: 'error', text: `Order ${order.id} is ${order.status}: nothing to refund` });
        }
        setMode({ kind: 'amount', order, left });
      }
    },
    mode.kind === 'list' && !confirm.asking,
  );

  const filter = `${status ?? 'any state'} · ${windows[window]!.label}`;
  return (
    <Box flexDirection="column">
      <Box>
        {mode.kind === 'search' ? (
          <Prompt
            label="Open order id:"
            onCancel={() => setMode({ kind: 'list' })}
            onSubmit={(value) => {
              setMode({ kind: 'list' });
              if (value.trim()) setOpen(value.trim());
            }}
          />
        ) : mode.kind === 'amount' ? (
          <Prompt
            label={`Refund how much of ${money({ amount: mode.left, currency: mode.order.total.currency })}? (enter: all)`}
            onCancel={() => setMode({ kind: 'list' })}
            onSubmit={(value) => {
              const amount = value.trim() === '' ? mode.left : parseAmount(value, mode.order.total.currency);
              if (amount === undefined || amount <= 0 || amount > mode.left) {
                setMode({ kind: 'list' });
                return ctx.setStatus({ kind: 'error', text: `Not a refundable amount: "${value}" (at most ${money({ amount: mode.left, currency: mode.order.total.currency })})` });
              }
              const refund = { amount, currency: mode.order.total.currency };
              const order = mode.order;
              const key = randomUUID();
              setMode({ kind: 'list' });
              confirm.ask(`Refund ${money(refund)} on order ${order.id}${amount === mode.left ? ' (everything left)' : ''}?`, () =>
                void run(
                  `Refunding ${money(refund)} on ${order.id}`,
                  (c) => c.createRefund({ params: { id: order.id }, body: { amount: refund } }, { idempotencyKey: key }),
                  (r) => `Refunded ${money(r.amount)} on ${order.id}: order is ${r.orderStatus}`,
                  refresh,
                ),
              );
            }}
          />
        ) : confirm.prompt ? (
          confirm.prompt
        ) : (
          <Text dimColor>Orders: {filter}</Text>
        )}
      </Box>
      {open ? (
        <OrderDetail data={detail.data ?? null} error={detail.state === 'error' ? detail.message : undefined} />
      ) : (
        <ListTable list={list} columns={columns} selected={nav.selected} empty="No orders match." />
      )}
    </Box>
  );
}

function OrderDetail({ data, error }: { data: { order: Order; payments: Payment[] } | null; error: string | undefined }) {
  const ctx = useConsole();
  if (error && !data) return <Text color={paint(ctx, 'red')}>{error}</Text>;
  if (!data) return <Text dimColor>Loading…</Text>;
  const { order, payments } = data;
  const history: [string | null, string][] = [
    [order.createdAt, 'placed'],
    [order.paidAt, 'paid'],
    [order.fulfilledAt, 'fulfilled'],
    [order.cancelledAt, 'cancelled'],
    ...payments.flatMap((p) => p.refunds.map((r): [string, string] => [r.createdAt, `refunded ${money(r.amount)}${r.restock ? ' (restocked)' : ''}`])),
  ];
  const room = Math.max(1, ctx.bodyRows - 9 - payments.length - history.filter(([t]) => t).length);
  return (
    <Box flexDirection="column">
      <Text bold>
        Order {order.id} · <Text color={paint(ctx, order.status === 'paid' || order.status === 'fulfilled' ? 'green' : 'yellow')}>{order.status}</Text> · v{order.version}
      </Text>
      <Text>
        Total {money(order.total)} · refunded {money(order.refunded)} · customer {order.userId ?? '—'}
      </Text>
      <Text bold>Items</Text>
      {order.items.slice(0, room).map((i) => (
        <Text key={i.sku}>
          {'  '}
          {i.quantity} × {i.name} ({i.sku}) {money(i.unitPrice)} = {money(i.total)}
        </Text>
      ))}
      {order.items.length > room && <Text dimColor>{`  … ${order.items.length - room} more`}</Text>}
      <Text bold>Payments</Text>
      {payments.length ? (
        payments.map((p) => (
          <Text key={p.id}>
            {'  '}
            {p.id} {p.provider} {p.status} {money(p.amount)} refunded {money(p.refunded)}
          </Text>
        ))
      ) : (
        <Text dimColor>{'  '}none</Text>
      )}
      <Text bold>History</Text>
      {history
        .filter(([t]) => t)
        .sort(([a], [b]) => String(a).localeCompare(String(b)))
        .map(([t, what], i) => (
          <Text key={i}>
            {'  '}
            {when(t)} {what}
          </Text>
        ))}
    </Box>
  );
}

export const ordersScreen: ScreenDef = { id: 'orders', title: 'Orders', bindings, Component: OrdersScreen, permission: 'orders:read' };
