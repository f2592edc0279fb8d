import { Box, Text } from 'ink';
import { useState } from 'react';
import type { AdminClient } from '../api.js';
import { type Column, when } from '../format.js';
import { useAction, usePaged } from '../ui/hooks.js';
import { ListTable, useListNav } from '../ui/list-screen.js';
import { Prompt } from '../ui/prompt.js';
import { useScreenKeys } from '../ui/use-keys.js';
import type { ScreenDef } from './screen.js';

type Event = Awaited<ReturnType<AdminClient['listAudit']>>['data'][number];

const bindings = [
  { keys: ['v'], action: 'verify', label: "verify the log's hash chain" },
  { keys: ['a'], action: 'actor', label: 'filter by actor id' },
  { keys: ['t'], action: 'target', label: 'filter by target id' },
] as const;

const columns: Column<Event>[] = [
  { title: 'Seq', width: 6, align: 'right', value: (e) => String(e.seq) },
  { title: 'Time', width: 16, value: (e) => when(e.createdAt) },
  { title: 'Action', width: 0, value: (e) => e.action },
  { title: 'Actor', optional: true, width: 12, value: (e) => (e.actorId ? `${e.actorType}:${e.actorId.slice(-6)}` : e.actorType) },
  { title: 'Target', optional: true, width: 16, value: (e) => (e.targetType ? `${e.targetType}:${(e.targetId ?? '').slice(-6)}` : '') },
];

type Filter = { action?: string; actorId?: string; targetId?: string };
type Mode = { kind: 'list' } | { kind: 'prompt'; field: keyof Filter; label: string };

function AuditScreen() {
  const [filter, setFilter] = useState<Filter>({});
  const [open, setOpen] = useState<Event | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const list = usePaged((c, cursor) => c.listAudit({ query: { limit: 200, ...filter, ...(cursor ? { cursor } : {}) } }), [filter.action, filter.actorId, filter.targetId]);
  const nav = useListNav(list.items.length, list);
  const { run } = useAction();
  useScreenKeys(
    bindings,
    (action) => {
      if (action === 'back') {
        if (open) setOpen(null);
        else setFilter({});
        return;
      }
      if (!open && nav.handle(action)) return;
      if (action === 'open' && !open && list.items[nav.selected]) return setOpen(list.items[nav.selected]!);
      if (action === 'search') return setMode({ kind: 'prompt', field: 'action', label: 'Action (exact, e.g. access.user.disabled):' });
      if (action === 'actor') return setMode({ kind: 'prompt', field: 'actorId', label: 'Actor id:' });
      if (action === 'target') return setMode({ kind: 'prompt', field: 'targetId', label: 'Target id:' });
      if (action === 'verify') {
        void run(
          'Verifying the audit chain',
          (c) => c.verifyAudit(),
          (r) => (r.ok ? `Audit chain intact: ${r.events} events, head #${r.headSeq}` : `AUDIT CHAIN BROKEN at #${r.brokenAt.seq} (${r.reason}): ${r.message}`),
        ).then(() => undefined);
      }
    },
    mode.kind === 'list',
  );
  const described = Object.entries(filter)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return (
    <Box flexDirection="column">
      {mode.kind === 'prompt' ? (
        <Prompt
          label={mode.label}
          initial={filter[mode.field] ?? ''}
          onCancel={() => setMode({ kind: 'list' })}
          onSubmit={(value) => {
            setMode({ kind: 'list' });
            nav.setSelected(0);
            setFilter((old) => ({ ...old, [mode.field]: value.trim() || undefined }));
          }}
        />
      ) : (
        <Text dimColor>Audit log, newest first{described ? ` · ${described} (esc clears)` : ''}</Text>
      )}
      {open ? (
        <Box flexDirection="column">
          <Text bold>
            #{open.seq} {open.action} · {when(open.createdAt)}
          </Text>
          <Text>
            Actor {open.actorType} {open.actorId ?? ''} · target {open.targetType ?? '—'} {open.targetId ?? ''}
          </Text>
          <Text>
            IP {open.ip ?? '—'} · request {open.requestId ?? '—'}
          </Text>
          <Text>Data {JSON.stringify(open.data)}</Text>
          <Text dimColor>Hash {open.hash}</Text>
        </Box>
      ) : (
        <ListTable list={list} columns={columns} selected={nav.selected} empty="No events match." />
      )}
    </Box>
  );
}

export const auditScreen: ScreenDef = { id: 'audit', title: 'Audit', bindings, Component: AuditScreen, permission: 'audit:read' };
