import { Box, Text } from 'ink';
import { useState } from 'react';
import type { AdminClient } from '../api.js';
import { type Column, header, layout, row, when } from '../format.js';
import { paint, useConsole } from '../ui/context.js';
import { useAction, useLoad, usePaged } from '../ui/hooks.js';
import { Confirm } from '../ui/prompt.js';
import { useScreenKeys } from '../ui/use-keys.js';
import { move, VirtualList } from '../ui/virtual-list.js';
import type { ScreenDef } from './screen.js';

type Job = Awaited<ReturnType<AdminClient['getJob']>>;

const bindings = [
  { keys: ['s'], action: 'state', label: 'filter: all, queued, scheduled, failed, running, dead, cancelled, completed' },
  { keys: ['y'], action: 'retry', label: 'retry the job now (needs jobs:write)' },
  { keys: ['c'], action: 'cancel', label: 'cancel a queued job (needs jobs:write)' },
] as const;

/** Views over the API's states: `scheduled` (queued, due later) and `failed` (queued again after an error) are queued jobs. */
const filters = ['all', 'queued', 'scheduled', 'failed', 'running', 'dead', 'cancelled', 'completed'] as const;
type Filter = (typeof filters)[number];
const apiState = (f: Filter) => (f === 'all' ? undefined : f === 'scheduled' || f === 'failed' ? 'queued' : f);

/** What a person calls the job's state. */
export function jobKind(job: Job, now = Date.now()): string {
  if (job.state !== 'queued') return job.state;
  if (job.lastError) return 'failed';
  return Date.parse(job.runAt) > now ? 'scheduled' : 'queued';
}

const columns: Column<Job>[] = [
  { title: 'Type', width: 0, value: (j) => j.type },
  { title: 'Queue', optional: true, width: 10, value: (j) => j.queue },
  { title: 'State', width: 9, value: (j) => jobKind(j) },
  { title: 'Tries', width: 5, align: 'right', value: (j) => `${j.attempts}/${j.maxAttempts}` },
  { title: 'Run at', optional: true, width: 16, value: (j) => when(j.runAt) },
];

type Mode = { kind: 'list' } | { kind: 'confirm'; question: string; act: () => void };

function JobsScreen() {
  const ctx = useConsole();
  const [filter, setFilter] = useState(0);
  const [selected, setSelected] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const f = filters[filter]!;
  const state = apiState(f);
  const list = usePaged(
    async (c, cursor) => {
      const page = await c.listJobs({ query: { limit: 100, ...(state ? { state } : {}), ...(cursor ? { cursor } : {}) } });
      return f === 'scheduled' || f === 'failed' || f === 'queued' ? { ...page, data: page.data.filter((j) => jobKind(j) === f) } : page;
    },
    [f],
  );
  const detail = useLoad(async (c, signal) => (open ? c.getJob({ params: { id: open } }, { signal }) : null), [open]);
  const { run } = useAction();
  const current = open ? (detail.data ?? undefined) : list.items[selected];
  const refresh = () => {
    list.reload();
    detail.reload();
  };

  useScreenKeys(
    bindings,
    (action) => {
      if (action === 'back') return open ? setOpen(null) : undefined;
      if (!open && ['up', 'down', 'pageUp', 'pageDown', 'top', 'bottom'].includes(action)) {
        const next = move(action, selected, list.items.length, ctx.bodyRows - 3);
        setSelected(next);
        if (next >= list.items.length - 20) list.loadMore();
        return;
      }
      if (action === 'state') {
        setFilter((n) => (n + 1) % filters.length);
        setSelected(0);
        setOpen(null);
        return;
      }
      if (action === 'search') return ctx.setStatus({ kind: 'info', text: 'Jobs are filtered with s (state)' });
      if (action === 'open' && !open && current) return setOpen(current.id);
      if (!current) return;
      const job = current;
      if ((action === 'retry' || action === 'cancel') && !ctx.can('jobs:write')) {
        return ctx.setStatus({ kind: 'error', text: 'Not allowed: retrying and cancelling jobs needs the jobs:write permission (admins)' });
      }
      if (action === 'retry') {
        setMode({ kind: 'confirm', question: `Retry ${job.type} ${job.id} now?`, act: () => void run(`Retrying ${job.id}`, (c) => c.retryJob({ params: { id: job.id } }), (j) => `Job ${j.id} is ${jobKind(j)}`, refresh) });
      } else if (action === 'cancel') {
        setMode({ kind: 'confirm', question: `Cancel ${job.type} ${job.id}?`, act: () => void run(`Cancelling ${job.id}`, (c) => c.cancelJob({ params: { id: job.id } }), (j) => `Job ${j.id} is ${j.state}`, refresh) });
      }
    },
    mode.kind === 'list',
  );

  const widths = layout(columns, ctx.columns - 2);
  return (
    <Box flexDirection="column">
      {mode.kind === 'confirm' ? (
        <Confirm
          question={mode.question}
          onAnswer={(yes) => {
            setMode({ kind: 'list' });
            if (yes) mode.act();
            else ctx.setStatus({ kind: 'info', text: 'Nothing changed' });
          }}
        />
      ) : (
        <Text dimColor>Jobs: {f}</Text>
      )}
      {list.error && !open && <Text color={paint(ctx, 'red')}>{list.error}</Text>}
      {open ? (
        detail.data ? (
          <JobDetail job={detail.data} />
        ) : (
          <Text color={detail.state === 'error' ? paint(ctx, 'red') : undefined}>{detail.state === 'error' ? detail.message : 'Loading…'}</Text>
        )
      ) : (
        <VirtualList
          items={list.items}
          selected={selected}
          height={ctx.bodyRows - 2}
          width={ctx.columns}
          header={header(columns, widths)}
          render={(j) => row(columns, widths, j)}
          color={ctx.color}
          empty={list.loading ? 'Loading…' : 'No jobs here.'}
          more={list.more}
        />
      )}
    </Box>
  );
}

function JobDetail({ job }: { job: Job }) {
  const ctx = useConsole();
  const payload = JSON.stringify(job.payload);
  return (
    <Box flexDirection="column">
      <Text bold>
        {job.type} · {jobKind(job)} · queue {job.queue}
      </Text>
      <Text>Id {job.id}</Text>
      <Text>
        Attempts {job.attempts}/{job.maxAttempts} · priority {job.priority} · run at {when(job.runAt)} · finished {when(job.finishedAt)}
      </Text>
      <Text>Payload {payload.length > ctx.columns * 3 ? `${payload.slice(0, ctx.columns * 3)}…` : payload}</Text>
      <Text color={job.lastError ? paint(ctx, 'red') : undefined}>Last error: {job.lastError ?? 'none'}</Text>
    </Box>
  );
}

export const jobsScreen: ScreenDef = { id: 'jobs', title: 'Jobs', bindings, Component: JobsScreen, permission: 'jobs:read' };
