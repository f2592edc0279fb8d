import { isPlinthApiError } from '@plinth/client';
import { Box, Text } from 'ink';
import { useRef } from 'react';
import { readableError } from '../api.js';
import { duration, fit, money } from '../format.js';
import { httpTotals, max, parseMetrics, sum } from '../metrics.js';
import { paint, useConsole } from '../ui/context.js';
import { useLoad } from '../ui/hooks.js';
import type { ScreenDef } from './screen.js';

interface Snapshot {
  at: number;
  ready: { ok: boolean; checks: Record<string, { ok: boolean; latencyMs: number; error?: string | undefined }> } | { ok: false; error: string };
  http: { requests: number; errors: number };
  jobs: { queued: number; running: number; dead: number; oldestDue: number; byQueue: Record<string, number> };
  outbox: { pending: number; lag: number };
  summary: { orders: number; revenue: { amount: number; currency: string }[]; paidOrders: number; byStatus: Record<string, number> } | { error: string };
}

function DashboardScreen() {
  const ctx = useConsole();
  const previous = useRef<Snapshot | null>(null);
  const rates = useRef<{ rps: number; errorRate: number } | null>(null);
  const load = useLoad<Snapshot>(
    async (c, signal) => {
      const [ready, metrics, summary] = await Promise.all([
        c.ready(undefined, { signal }).then(
          (r) => ({ ok: true, checks: r.checks }),
          (error: unknown) => {
            const checks = isPlinthApiError(error) ? (error.problem as { checks?: Record<string, { ok: boolean; latencyMs: number; error?: string }> }).checks : undefined;
            return checks ? { ok: false, checks } : { ok: false as const, error: readableError(error) };
          },
        ),
        c.metrics(undefined, { signal }),
        c.ordersSummary(undefined, { signal }).catch((error: unknown) => ({ error: readableError(error) })),
      ]);
      const samples = parseMetrics(metrics);
      const byQueue: Record<string, number> = {};
      for (const s of samples.filter((x) => x.name === 'plinth_jobs' && x.labels.state === 'queued')) byQueue[s.labels.queue ?? '?'] = s.value;
      return {
        at: Date.now(),
        ready: ready as Snapshot['ready'],
        http: httpTotals(samples),
        jobs: {
          queued: sum(samples, 'plinth_jobs', (l) => l.state === 'queued'),
          running: sum(samples, 'plinth_jobs', (l) => l.state === 'running'),
          dead: sum(samples, 'plinth_jobs', (l) => l.state === 'dead'),
          oldestDue: max(samples, 'plinth_jobs_oldest_due_age_seconds'),
          byQueue,
        },
        outbox: { pending: sum(samples, 'plinth_outbox_pending'), lag: max(samples, 'plinth_outbox_lag_seconds') },
        summary,
      };
    },
    [],
    { live: true },
  );

  const snap = load.data;
  if (snap && previous.current !== snap) {
    const before = previous.current;
    if (before && snap.at > before.at) {
      const seconds = (snap.at - before.at) / 1000;
      const requests = Math.max(0, snap.http.requests - before.http.requests);
      const errors = Math.max(0, snap.http.errors - before.http.errors);
      rates.current = { rps: requests / seconds, errorRate: requests ? errors / requests : 0 };
    }
    previous.current = snap;
  }
  if (!snap) return load.state === 'error' ? <Text color={paint(ctx, 'red')}>{load.message}</Text> : <Text dimColor>Loading…</Text>;

  const half = Math.max(30, Math.floor(ctx.columns / 2) - 1);
  const line = (label: string, value: string, tint?: string) => (
    <Text>
      {fit(label, 20)} <Text color={tint ? paint(ctx, tint) : undefined}>{value}</Text>
    </Text>
  );
  const ready = snap.ready;
  const rate = rates.current;
  const summary = snap.summary;
  return (
    <Box flexDirection="column">
      {load.state === 'error' && <Text color={paint(ctx, 'red')}>{load.message} (showing the last answer)</Text>}
      <Box flexWrap="wrap">
        <Box flexDirection="column" width={half} marginBottom={1}>
          <Text bold>Service</Text>
          {line('Readiness', 'checks' in ready ? (ready.ok ? 'ready' : 'NOT READY') : ready.error, ready.ok ? 'green' : 'red')}
          {'checks' in ready &&
            Object.entries(ready.checks).map(([name, check]) => (
              <Text key={name}>
                {fit(`  ${name}`, 20)} <Text color={paint(ctx, check.ok ? 'green' : 'red')}>{check.ok ? `ok ${check.latencyMs.toFixed(1)} ms` : (check.error ?? 'failing')}</Text>
              </Text>
            ))}
          {line('Requests/s', rate ? rate.rps.toFixed(1) : 'measuring…')}
          {line('Error rate (5xx)', rate ? `${(rate.errorRate * 100).toFixed(1)}%` : 'measuring…', rate && rate.errorRate > 0 ? 'red' : undefined)}
        </Box>
        <Box flexDirection="column" width={half} marginBottom={1}>
          <Text bold>Background work</Text>
          {line('Jobs queued', String(snap.jobs.queued))}
          {line('Jobs running', String(snap.jobs.running))}
          {line('Jobs dead', String(snap.jobs.dead), snap.jobs.dead ? 'red' : undefined)}
          {line('Oldest due job', duration(snap.jobs.oldestDue), snap.jobs.oldestDue > 60 ? 'yellow' : undefined)}
          {line('Outbox pending', String(snap.outbox.pending))}
          {line('Outbox lag', duration(snap.outbox.lag), snap.outbox.lag > 30 ? 'yellow' : undefined)}
        </Box>
        <Box flexDirection="column" width={half}>
          <Text bold>Today (UTC)</Text>
          {'error' in summary ? (
            <Text color={paint(ctx, 'red')}>{summary.error}</Text>
          ) : (
            <>
              {line('Orders today', String(summary.orders))}
              {line('Paid today', String(summary.paidOrders))}
              {line('Revenue today', summary.revenue.length ? summary.revenue.map(money).join(', ') : '0')}
            </>
          )}
        </Box>
      </Box>
      <Text dimColor>Refreshes by itself · r refreshes now</Text>
    </Box>
  );
}

export const dashboardScreen: ScreenDef = { id: 'dashboard', title: 'Dashboard', bindings: [], Component: DashboardScreen };
