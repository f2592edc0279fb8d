import { Box, Text } from 'ink';
import { useState } from 'react';
import type { AdminClient, Api } from '../api.js';
import { type Column, fit, when } from '../format.js';
import { paint, type Status, useConsole } from '../ui/context.js';
import { useAction, useLoad, usePaged } from '../ui/hooks.js';
import { allowed, ListTable, useConfirm, useListNav } from '../ui/list-screen.js';
import { useScreenKeys } from '../ui/use-keys.js';
import type { ScreenDef } from './screen.js';

type Endpoint = Awaited<ReturnType<AdminClient['getWebhookEndpoint']>>;
type Delivery = Awaited<ReturnType<AdminClient['listWebhookDeliveries']>>['data'][number];
type DeliveryDetail = Awaited<ReturnType<AdminClient['getWebhookDelivery']>>;
type Attempt = DeliveryDetail['attemptLog'][number];

const bindings = [
  { keys: ['e'], action: 'toggle', label: 'enable / disable the endpoint (needs webhooks:write)' },
  { keys: ['p'], action: 'replay', label: 'replay the selected delivery now (needs webhooks:write)' },
  { keys: ['s'], action: 'status', label: 'deliveries: all, pending, delivered, failed' },
] as const;

const statusFilters = [undefined, 'pending', 'succeeded', 'failed'] as const;

/** What a person calls a delivery's state: the API's `succeeded` is shown as `delivered`. */
export function deliveryState(status: Delivery['status']): string {
  return status === 'succeeded' ? 'delivered' : status;
}

/** `enabled`, `disabled` (by an admin) or `auto-disabled` (after failures in a row, or a 410). */
export function endpointState(e: Pick<Endpoint, 'enabled' | 'disabledReason'>): string {
  if (e.enabled) return 'enabled';
  return !e.disabledReason || e.disabledReason === 'disabled by an admin' ? 'disabled' : 'auto-disabled';
}

/** The newest attempt of a delivery (a replay starts counting again at 1, so the number does not tell). */
export function latestAttempt(log: readonly Attempt[]): Attempt | undefined {
  return [...log].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.attempt - b.attempt).at(-1);
}

function describeAttempt(a: Attempt): string {
  return `${a.statusCode === null ? 'no answer' : `HTTP ${a.statusCode}`} in ${a.latencyMs} ms${a.error ? ` · ${a.error}` : ''}`;
}

const endpointColumns: Column<Endpoint>[] = [
  { title: 'URL', width: 0, value: (e) => e.url },
  { title: 'Events', optional: true, width: 18, value: (e) => e.events.join(',') },
  { title: 'State', width: 13, value: endpointState },
  { title: 'Fails', width: 5, align: 'right', value: (e) => String(e.consecutiveFailures) },
];

const deliveryColumns: Column<Delivery>[] = [
  { title: 'Event', width: 0, value: (d) => d.eventType },
  { title: 'Status', width: 9, value: (d) => deliveryState(d.status) },
  { title: 'HTTP', width: 4, align: 'right', value: (d) => (d.lastStatusCode === null ? '—' : String(d.lastStatusCode)) },
  { title: 'Tries', width: 5, align: 'right', value: (d) => String(d.attempts) },
  { title: 'Created', optional: true, width: 16, value: (d) => when(d.createdAt) },
  { title: 'Next try', optional: true, width: 16, value: (d) => (d.status === 'pending' ? when(d.nextAttemptAt) : '') },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Replays a delivery and waits (up to `waitMs`) for the attempt a worker makes,
 * so the console can show how it went rather than only that it was queued.
 * Each request goes through `api.run` on its own: a session refreshed while
 * waiting repeats one look, never the replay.
 */
export async function replayAndWait(api: Pick<Api, 'run'>, endpointId: string, deliveryId: string, waitMs = 15_000): Promise<{ delivery: DeliveryDetail; attempt: Attempt | undefined }> {
  const params = { id: endpointId, deliveryId };
  const look = () => api.run((c) => c.getWebhookDelivery({ params }));
  const before = (await look()).attemptLog.length;
  await api.run((c) => c.replayWebhookDelivery({ params }));
  const deadline = Date.now() + waitMs;
  let delivery = await look();
  while (delivery.attemptLog.length <= before && Date.now() < deadline) {
    await sleep(250);
    delivery = await look();
  }
  return { delivery, attempt: delivery.attemptLog.length > before ? latestAttempt(delivery.attemptLog) : undefined };
}

/** The status line after a replay: the attempt's outcome (bad news in red), or that it is still queued. */
export function replayOutcome(id: string, delivery: Pick<DeliveryDetail, 'status'>, attempt: Attempt | undefined): Status {
  if (!attempt) return { kind: 'info', text: `Queued ${id} to be sent again; no attempt yet (a worker sends it within its poll interval)` };
  const how = describeAttempt(attempt);
  if (!attempt.error) return { kind: 'ok', text: `Replayed ${id}: ${deliveryState(delivery.status)}, ${how}` };
  return { kind: 'error', text: `Replayed ${id}: the receiver failed again (${how}); ${deliveryState(delivery.status)}` };
}

type View = { kind: 'endpoints' } | { kind: 'deliveries'; endpointId: string } | { kind: 'delivery'; endpointId: string; deliveryId: string };

function WebhooksScreen() {
  const ctx = useConsole();
  const [view, setView] = useState<View>({ kind: 'endpoints' });
  const [filter, setFilter] = useState(0);
  const status = statusFilters[filter];
  const endpointId = view.kind === 'endpoints' ? null : view.endpointId;

  const endpoints = usePaged((c, cursor) => c.listWebhookEndpoints({ query: { limit: 100, ...(cursor ? { cursor } : {}) } }), []);
  const deliveries = usePaged(
    async (c, cursor) =>
      endpointId ? c.listWebhookDeliveries({ params: { id: endpointId }, query: { limit: 100, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) } }) : { data: [], nextCursor: null },
    [endpointId, status],
  );
  const endpointNav = useListNav(endpoints.items.length, endpoints);
  const deliveryNav = useListNav(deliveries.items.length, deliveries, ctx.bodyRows - 5);
  const endpoint = useLoad(async (c, signal) => (endpointId ? c.getWebhookEndpoint({ params: { id: endpointId } }, { signal }) : null), [endpointId]);
  const selectedDelivery = view.kind === 'delivery' ? view.deliveryId : deliveries.items[Math.min(deliveryNav.selected, deliveries.items.length - 1)]?.id;
  const delivery = useLoad(
    async (c, signal) => (endpointId && selectedDelivery ? c.getWebhookDelivery({ params: { id: endpointId, deliveryId: selectedDelivery } }, { signal }) : null),
    [endpointId, selectedDelivery],
  );
  const confirm = useConfirm();
  const { run, running } = useAction();

  const refresh = () => {
    endpoints.reload();
    deliveries.reload();
    endpoint.reload();
    delivery.reload();
  };
  const currentEndpoint = view.kind === 'endpoints' ? endpoints.items[endpointNav.selected] : (endpoint.data ?? undefined);
  const currentDelivery = view.kind === 'deliveries' ? deliveries.items[deliveryNav.selected] : view.kind === 'delivery' ? (delivery.data ?? undefined) : undefined;

  useScreenKeys(
    bindings,
    (action) => {
      if (action === 'back') {
        if (view.kind === 'delivery') setView({ kind: 'deliveries', endpointId: view.endpointId });
        else if (view.kind === 'deliveries') setView({ kind: 'endpoints' });
        return;
      }
      if (view.kind === 'endpoints' && endpointNav.handle(action)) return;
      if (view.kind === 'deliveries' && deliveryNav.handle(action)) return;
      if (action === 'search') return ctx.setStatus({ kind: 'info', text: 'Webhooks have no search: enter opens an endpoint, s filters its deliveries' });
      if (action === 'open') {
        if (view.kind === 'endpoints' && currentEndpoint) {
          deliveryNav.setSelected(0);
          setView({ kind: 'deliveries', endpointId: currentEndpoint.id });
        } else if (view.kind === 'deliveries' && currentDelivery) setView({ kind: 'delivery', endpointId: view.endpointId, deliveryId: currentDelivery.id });
        return;
      }
      if (action === 'status') {
        if (view.kind === 'endpoints') return ctx.setStatus({ kind: 'info', text: 'Open an endpoint (enter) to filter its deliveries' });
        setFilter((n) => (n + 1) % statusFilters.length);
        deliveryNav.setSelected(0);
        if (view.kind === 'delivery') setView({ kind: 'deliveries', endpointId: view.endpointId });
        return;
      }
      if (running) return ctx.setStatus({ kind: 'info', text: 'Still working on the last change' });
      if (action === 'toggle' && currentEndpoint) {
        if (!allowed(ctx, 'webhooks:write', 'changing endpoints')) return;
        const e = currentEndpoint;
        const enable = !e.enabled;
        confirm.ask(`${enable ? 'Enable' : 'Disable'} ${e.url}?${enable ? ' Its failure count starts again at 0.' : ' Pending deliveries fail.'}`, () =>
          void run(
            `${enable ? 'Enabling' : 'Disabling'} ${e.url}`,
            (c) => c.updateWebhookEndpoint({ params: { id: e.id }, body: { enabled: enable, version: e.version } }),
            (u) => `${u.url} is ${endpointState(u)}`,
            refresh,
          ),
        );
      }
      if (action === 'replay') {
        if (view.kind === 'endpoints') return ctx.setStatus({ kind: 'info', text: 'Open an endpoint (enter) and select a delivery to replay' });
        if (!currentDelivery || !currentEndpoint) return;
        if (!allowed(ctx, 'webhooks:write', 'replaying deliveries')) return;
        const d = currentDelivery;
        const e = currentEndpoint;
        if (!e.enabled) return ctx.setStatus({ kind: 'error', text: `${e.url} is ${endpointState(e)}: enable it (e) before replaying` });
        confirm.ask(`Replay delivery ${d.id} (${d.eventType}) now?`, () =>
          void run(
            `Replaying ${d.id}: queued, waiting for the attempt`,
            () => replayAndWait(ctx.api, e.id, d.id),
            ({ delivery: after, attempt }) => replayOutcome(d.id, after, attempt),
            refresh,
          ),
        );
      }
    },
    !confirm.asking,
  );

  const filterLabel = status ? deliveryState(status) : 'all';
  const title =
    view.kind === 'endpoints'
      ? 'Webhook endpoints, newest first · enter: deliveries'
      : currentEndpoint
        ? `Deliveries: ${filterLabel} · ${endpointState(currentEndpoint)}, ${currentEndpoint.consecutiveFailures} failed in a row · ${currentEndpoint.url}`
        : 'Loading the endpoint…';
  return (
    <Box flexDirection="column">
      {confirm.prompt ?? <Text dimColor>{fit(title, ctx.columns)}</Text>}
      {endpoint.state === 'error' && view.kind !== 'endpoints' && <Text color={paint(ctx, 'red')}>{endpoint.message}</Text>}
      {view.kind === 'endpoints' && (
        <>
          <ListTable list={endpoints} columns={endpointColumns} selected={endpointNav.selected} empty="No webhook endpoints." height={ctx.bodyRows - 2} />
          {currentEndpoint && <EndpointLine endpoint={currentEndpoint} />}
        </>
      )}
      {view.kind === 'deliveries' && (
        <>
          <ListTable list={deliveries} columns={deliveryColumns} selected={deliveryNav.selected} empty={`No ${status ? `${filterLabel} ` : ''}deliveries.`} height={ctx.bodyRows - 3} />
          {currentDelivery && <LastAttempt detail={delivery.data ?? null} error={delivery.state === 'error' ? delivery.message : undefined} />}
        </>
      )}
      {view.kind === 'delivery' && <DeliveryView detail={delivery.data ?? null} error={delivery.state === 'error' ? delivery.message : undefined} />}
    </Box>
  );
}

/** Below the endpoint list: the selected endpoint's events in full, and why it is disabled. */
function EndpointLine({ endpoint: e }: { endpoint: Endpoint }) {
  const ctx = useConsole();
  const text = e.enabled
    ? `Events: ${e.events.join(', ')}${e.description ? ` · ${e.description}` : ''}`
    : `${endpointState(e) === 'auto-disabled' ? 'Auto-disabled' : 'Disabled'} ${when(e.disabledAt)}: ${e.disabledReason ?? 'no reason given'}`;
  return <Text color={e.enabled ? undefined : paint(ctx, 'yellow')}>{fit(text, ctx.columns)}</Text>;
}

/** Below the delivery list: how the selected delivery's latest attempt went (the list does not carry latencies). */
function LastAttempt({ detail, error }: { detail: DeliveryDetail | null; error: string | undefined }) {
  const ctx = useConsole();
  if (error) return <Text color={paint(ctx, 'red')}>{fit(error, ctx.columns)}</Text>;
  if (!detail) return <Text dimColor>…</Text>;
  const last = latestAttempt(detail.attemptLog);
  const text = last ? `Last attempt ${when(last.createdAt)}: ${describeAttempt(last)}` : 'No attempt yet';
  return <Text color={last?.error ? paint(ctx, 'red') : undefined}>{fit(text, ctx.columns)}</Text>;
}

/** One delivery: its event, state and every attempt (newest last), then the payload. */
function DeliveryView({ detail, error }: { detail: DeliveryDetail | null; error: string | undefined }) {
  const ctx = useConsole();
  if (error && !detail) return <Text color={paint(ctx, 'red')}>{error}</Text>;
  if (!detail) return <Text dimColor>Loading…</Text>;
  const attempts = [...detail.attemptLog].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.attempt - b.attempt);
  const room = Math.max(1, ctx.bodyRows - 8);
  const shown = attempts.slice(-room);
  const payload = JSON.stringify(detail.payload) ?? '';
  return (
    <Box flexDirection="column">
      <Text bold>
        {fit(`${detail.eventType} · ${deliveryState(detail.status)} · delivery ${detail.id}`, ctx.columns)}
      </Text>
      <Text>
        {fit(`Event ${detail.eventId} · created ${when(detail.createdAt)} · delivered ${when(detail.succeededAt)}${detail.status === 'pending' ? ` · next try ${when(detail.nextAttemptAt)}` : ''}`, ctx.columns)}
      </Text>
      <Text bold>Attempts ({attempts.length})</Text>
      {attempts.length > shown.length && <Text dimColor>{`  … ${attempts.length - shown.length} earlier`}</Text>}
      {shown.length ? (
        shown.map((a, i) => (
          <Text key={i} color={a.error ? paint(ctx, 'red') : paint(ctx, 'green')}>
            {fit(`  #${a.attempt} ${when(a.createdAt)}  ${fit(a.statusCode === null ? '—' : String(a.statusCode), 3, 'right')}  ${fit(`${a.latencyMs} ms`, 8, 'right')}  ${a.error ?? a.response ?? ''}`, ctx.columns)}
          </Text>
        ))
      ) : (
        <Text dimColor>{'  '}none yet</Text>
      )}
      <Text>{fit(`Payload ${payload}`, ctx.columns * 2)}</Text>
    </Box>
  );
}

export const webhooksScreen: ScreenDef = { id: 'webhooks', title: 'Webhooks', bindings, Component: WebhooksScreen, permission: 'webhooks:read' };
