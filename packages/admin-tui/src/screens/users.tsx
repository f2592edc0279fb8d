import { Box, Text } from 'ink';
import { useState } from 'react';
import { type Column, header, layout, row, when } from '../format.js';
import { paint, useConsole } from '../ui/context.js';
import { useAction, useLoad, usePaged } from '../ui/hooks.js';
import { Confirm, Prompt } from '../ui/prompt.js';
import { useScreenKeys } from '../ui/use-keys.js';
import { move, VirtualList } from '../ui/virtual-list.js';
import type { ScreenDef } from './screen.js';
import type { AdminClient } from '../api.js';

type User = Awaited<ReturnType<AdminClient['getMe']>>;

const bindings = [
  { keys: ['d'], action: 'toggle', label: 'disable / enable the user (needs users:write)' },
  { keys: ['o'], action: 'roles', label: 'set roles, comma-separated (needs users:write)' },
  { keys: ['x'], action: 'revoke', label: 'revoke all sessions (needs users:write)' },
] as const;

const columns: Column<User>[] = [
  { title: 'Email', width: 0, value: (u) => u.email },
  { title: 'Name', optional: true, width: 16, value: (u) => u.name ?? '' },
  { title: 'Status', width: 8, value: (u) => u.status },
  { title: 'Roles', optional: true, width: 14, value: (u) => u.roles.join(',') },
  { title: 'MFA', optional: true, width: 3, value: (u) => (u.mfaEnabled ? 'on' : '') },
];

type Mode = { kind: 'list' } | { kind: 'search' } | { kind: 'confirm'; question: string; act: () => void } | { kind: 'roles' };

function UsersScreen() {
  const ctx = useConsole();
  const [q, setQ] = useState('');
  const [selected, setSelected] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const list = usePaged((c, cursor) => c.adminListUsers({ query: { limit: 100, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) } }), [q]);
  const { run } = useAction();
  const current = open ? undefined : list.items[selected];
  const targetId = open ?? current?.id;
  const detail = useLoad(
    async (c, signal) => {
      if (!open) return null;
      const [user, sessions, audit] = await Promise.all([
        c.adminGetUser({ params: { id: open } }, { signal }),
        c.adminListUserSessions({ params: { id: open } }, { signal }),
        c.listAudit({ query: { targetId: open, limit: 8 } }, { signal }).catch((error: unknown) => ({ error })),
      ]);
      return { user, sessions: sessions.data, audit };
    },
    [open],
  );
  const target = open ? (detail.data?.user ?? undefined) : current;
  const page = ctx.bodyRows - 3;

  const refresh = () => {
    list.reload();
    detail.reload();
  };
  const needWrite = () => {
    if (ctx.can('users:write')) return true;
    ctx.setStatus({ kind: 'error', text: 'Not allowed: changing users needs the users:write permission (admins)' });
    return false;
  };

  useScreenKeys(
    bindings,
    (action) => {
      if (action === 'back') {
        if (open) setOpen(null);
        else if (q) {
          setQ('');
          setSelected(0);
        }
        return;
      }
      if (!open && ['up', 'down', 'pageUp', 'pageDown', 'top', 'bottom'].includes(action)) {
        const next = move(action, selected, list.items.length, page);
        setSelected(next);
        if (next >= list.items.length - 10) list.loadMore();
        return;
      }
      if (action === 'search') return setMode({ kind: 'search' });
      if (action === 'open' && !open && current) return setOpen(current.id);
      if (!target || !targetId) return;
      if (action === 'toggle' && needWrite()) {
        const next = target.status === 'active' ? 'disabled' : 'active';
        setMode({
          kind: 'confirm',
          question: `${next === 'disabled' ? 'Disable' : 'Enable'} ${target.email}?${next === 'disabled' ? ' Their sessions are revoked.' : ''}`,
          act: () =>
            void run(`${next === 'disabled' ? 'Disabling' : 'Enabling'} ${target.email}`, (c) => c.adminUpdateUser({ params: { id: targetId }, body: { status: next } }), (u) => `${u.email} is ${u.status}`, refresh),
        });
      }
      if (action === 'roles' && needWrite()) setMode({ kind: 'roles' });
      if (action === 'revoke' && needWrite()) {
        setMode({
          kind: 'confirm',
          question: `Revoke every session of ${target.email}?`,
          act: () => void run(`Revoking the sessions of ${target.email}`, (c) => c.adminRevokeSessions({ params: { id: targetId } }), (r) => `Revoked ${r.revoked} session(s) of ${target.email}`, refresh),
        });
      }
    },
    mode.kind === 'list',
  );

  const widths = layout(columns, ctx.columns - 2);
  return (
    <Box flexDirection="column">
      <Box>
        {mode.kind === 'search' ? (
          <Prompt
            label="Search users:"
            initial={q}
            onSubmit={(value) => {
              setQ(value.trim());
              setSelected(0);
              setMode({ kind: 'list' });
            }}
            onCancel={() => setMode({ kind: 'list' })}
          />
        ) : mode.kind === 'confirm' ? (
          <Confirm
            question={mode.question}
            onAnswer={(yes) => {
              setMode({ kind: 'list' });
              if (yes) mode.act();
              else ctx.setStatus({ kind: 'info', text: 'Nothing changed' });
            }}
          />
        ) : mode.kind === 'roles' && target && targetId ? (
          <Prompt
            label={`Roles of ${target.email}:`}
            initial={target.roles.join(',')}
            onCancel={() => setMode({ kind: 'list' })}
            onSubmit={(value) => {
              setMode({ kind: 'list' });
              const roles = value.split(/[\s,]+/).filter(Boolean);
              void run(`Setting the roles of ${target.email}`, (c) => c.adminUpdateUser({ params: { id: targetId }, body: { roles } }), (u) => `${u.email} has roles: ${u.roles.join(', ') || 'none'}`, refresh);
            }}
          />
        ) : (
          <Text dimColor>{q ? `Users matching "${q}" (esc clears)` : 'Users'}</Text>
        )}
      </Box>
      {list.error && !open && <Text color={paint(ctx, 'red')}>{list.error}</Text>}
      {open ? (
        <UserDetail detail={detail} />
      ) : (
        <VirtualList
          items={list.items}
          selected={selected}
          height={ctx.bodyRows - 2}
          width={ctx.columns}
          header={header(columns, widths)}
          render={(u) => row(columns, widths, u)}
          color={ctx.color}
          empty={list.loading ? 'Loading…' : 'No users match.'}
          more={list.more}
        />
      )}
    </Box>
  );
}

function UserDetail({ detail }: { detail: ReturnType<typeof useLoad<{ user: User; sessions: { id: string; authMethod: string; ip: string | null; userAgent: string | null; lastUsedAt: string }[]; audit: unknown } | null>> }) {
  const ctx = useConsole();
  if (detail.state === 'error' && !detail.data) return <Text color={paint(ctx, 'red')}>{detail.message}</Text>;
  const data = detail.data;
  if (!data) return <Text dimColor>Loading…</Text>;
  const { user, sessions } = data;
  const audit = data.audit as { data?: { action: string; createdAt: string; actorId: string | null }[]; error?: unknown };
  return (
    <Box flexDirection="column">
      <Text bold>
        {user.email} {user.name ? `(${user.name})` : ''}
      </Text>
      <Text>
        Status: <Text color={paint(ctx, user.status === 'active' ? 'green' : 'red')}>{user.status}</Text> · Roles: {user.roles.join(', ') || 'none'} · MFA: {user.mfaEnabled ? 'on' : 'off'} · Email {user.emailVerified ? 'verified' : 'not verified'}
      </Text>
      <Text dimColor>
        Id {user.id} · created {when(user.createdAt)}
      </Text>
      <Text bold>Sessions ({sessions.length})</Text>
      {sessions.slice(0, 4).map((s) => (
        <Text key={s.id}>
          {'  '}
          {when(s.lastUsedAt)} {s.authMethod} {s.ip ?? ''} {s.userAgent ?? ''}
        </Text>
      ))}
      <Text bold>Recent audit</Text>
      {audit.data ? (
        audit.data.length ? (
          audit.data.slice(0, Math.max(1, ctx.bodyRows - 10 - Math.min(4, sessions.length))).map((e, i) => (
            <Text key={i}>
              {'  '}
              {when(e.createdAt)} {e.action}
            </Text>
          ))
        ) : (
          <Text dimColor>{'  '}none</Text>
        )
      ) : (
        <Text dimColor>{'  '}not shown: reading the audit log needs audit:read</Text>
      )}
    </Box>
  );
}

export const usersScreen: ScreenDef = { id: 'users', title: 'Users', bindings, Component: UsersScreen, permission: 'users:read' };
