import { Box, Text } from 'ink';
import { useState } from 'react';
import { type Column, when } from '../format.js';
import { paint, useConsole } from '../ui/context.js';
import { useAction, useLoad, usePaged } from '../ui/hooks.js';
import { allowed, ListTable, useConfirm, useListNav } from '../ui/list-screen.js';
import { Prompt } from '../ui/prompt.js';
import { useScreenKeys } from '../ui/use-keys.js';
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

type Mode = { kind: 'list' } | { kind: 'search' } | { kind: 'roles' };

function UsersScreen() {
  const ctx = useConsole();
  const [q, setQ] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const list = usePaged((c, cursor) => c.adminListUsers({ query: { limit: 100, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) } }), [q]);
  const nav = useListNav(list.items.length, list);
  const confirm = useConfirm();
  const { run } = useAction();
  const current = open ? undefined : list.items[nav.selected];
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

  const refresh = () => {
    list.reload();
    detail.reload();
  };
  const needWrite = () => allowed(ctx, 'users:write', 'changing users');

  useScreenKeys(
    bindings,
    (action) => {
      if (action === 'back') {
        if (open) setOpen(null);
        else if (q) {
          setQ('');
          nav.setSelected(0);
        }
        return;
      }
      if (!open && nav.handle(action)) return;
      if (action === 'search') return setMode({ kind: 'search' });
      if (action === 'open' && !open && current) return setOpen(current.id);
      if (!target || !targetId) return;
      if (action === 'toggle' && needWrite()) {
        const next = target.status === 'active' ? 'disabled' : 'active';
        confirm.ask(`${next === 'disabled' ? 'Disable' : 'Enable'} ${target.email}?${next === 'disabled' ? ' Their sessions are revoked.' : ''}`, () =>
          void run(`${next === 'disabled' ? 'Disabling' : 'Enabling'} ${target.email}`, (c) => c.adminUpdateUser({ params: { id: targetId }, body: { status: next } }), (u) => `${u.email} is ${u.status}`, refresh),
        );
      }
      if (action === 'roles' && needWrite()) setMode({ kind: 'roles' });
      if (action === 'revoke' && needWrite()) {
        confirm.ask(`Revoke every session of ${target.email}?`, () =>
          void run(`Revoking the sessions of ${target.email}`, (c) => c.adminRevokeSessions({ params: { id: targetId } }), (r) => `Revoked ${r.revoked} session(s) of ${target.email}`, refresh),
        );
      }
    },
    mode.kind === 'list' && !confirm.asking,
  );

  return (
    <Box flexDirection="column">
      <Box>
        {mode.kind === 'search' ? (
          <Prompt
            label="Search users:"
            initial={q}
            onSubmit={(value) => {
              setQ(value.trim());
              nav.setSelected(0);
              setMode({ kind: 'list' });
            }}
            onCancel={() => setMode({ kind: 'list' })}
          />
        ) : confirm.prompt ? (
          confirm.prompt
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
      {open ? <UserDetail detail={detail} /> : <ListTable list={list} columns={columns} selected={nav.selected} empty="No users match." />}
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
