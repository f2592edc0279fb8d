import { Box, Text } from 'ink';
import { useState } from 'react';
import type { AdminClient } from '../api.js';
import { type Column, when } from '../format.js';
import { paint, useConsole } from '../ui/context.js';
import { useAction, useLoad, usePaged } from '../ui/hooks.js';
import { allowed, ListTable, useConfirm, useListNav } from '../ui/list-screen.js';
import { useScreenKeys } from '../ui/use-keys.js';
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

function JobsScreen() {
  const ctx = useConsole();
  const [filter, setFilter] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
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
  const nav = useListNav(list.items.length, list);
  const confirm = useConfirm();
  const { run } = useAction();
  const current = open ? (detail.data ?? undefined) : list.items[nav.selected];
  const refresh = () => {
    list.reload();
    detail.reload();
  };

  useScreenKeys(
    bindings,
    (action) => {
      if (action === 'back') return open ? setOpen(null) : undefined;
      if (!open && nav.handle(action)) return;
      if (action === 'state') {
        setFilter((n) => (n + 1) % filters.length);
        nav.setSelected(0);
        setOpen(null);
        return;
      }
      if (action === 'search') return ctx.setStatus({ kind: 'info', text: 'Jobs are filtered with s (state)' });
      if (action === 'open' && !open && current) return setOpen(current.id);
      if (!current) return;
      const job = current;
      if ((action === 'retry' || action === 'cancel') && !allowed(ctx, 'jobs:write', 'retrying and cancelling jobs')) return;
      if (action === 'retry') {
        confirm.ask(`Retry ${job.type} ${job.id} now?`, () => void run(`Retrying ${job.id}`, (c) => c.retryJob({ params: { id: job.id } }), (j) => `Job ${j.id} is ${jobKind(j)}`, refresh));
      } else if (action === 'cancel') {
        confirm.ask(`Cancel ${job.type} ${job.id}?`, () => void run(`Cancelling ${job.id}`, (c) => c.cancelJob({ params: { id: job.id } }), (j) => `Job ${j.id} is ${j.state}`, refresh));
      }
    },
    !confirm.asking,
  );

  return (
    <Box flexDirection="column">
      {confirm.prompt ?? <Text dimColor>Jobs: {f}</Text>}
      {open ? (
        detail.data ? (
          <JobDetail job={detail.data} />
        ) : (
          <Text color={detail.state === 'error' ? paint(ctx, 'red') : undefined}>{detail.state === 'error' ? detail.message : 'Loading…'}</Text>
        )
      ) : (
        <ListTable list={list} columns={columns} selected={nav.selected} empty="No jobs here." />
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
