import { Box, type Key, Text, useApp, useInput, useStdout } from 'ink';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type AdminClient, createApi, readableError } from './api.js';
import { fit } from './format.js';
import { actionFor, globalBindings, type KeyBinding, keyName, keysLabel, listBindings } from './key-bindings.js';
import { Login } from './login.js';
import { builtinScreens } from './screens/index.js';
import type { ScreenDef } from './screens/screen.js';
import { Console, type ConsoleContext, type Status } from './ui/context.js';
import { createKeyRouter, KeyRouterContext } from './ui/key-router.js';
import { type HealthState, useHealth } from './use-health.js';

export interface AdminAppProps {
  /** The client to talk through (its token store holds the session). */
  client: AdminClient;
  /** Use colours; default true unless `NO_COLOR` is set (Ink also drops them when the terminal has none). */
  color?: boolean;
  /** The screens, in tab order; default the built-in ones (`builtinScreens`). */
  screens?: readonly ScreenDef[];
  /** How often live views (dashboard, health) refresh, in ms; default 3000. */
  refreshMs?: number;
  /** The screen to open first (its id); default the first. */
  initialScreen?: string;
  /** Email to prefill when a sign-in is needed; default none. */
  email?: string;
}

/** `NO_COLOR` (https://no-color.org): set and not empty turns colours off. */
export function colorsEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return !env.NO_COLOR;
}

/** The terminal's size, following resizes (80×24 when unknown). */
function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stdout]);
  return size;
}

type User = Awaited<ReturnType<AdminClient['getMe']>>;
type Auth = { kind: 'checking' } | { kind: 'login'; reason?: string } | { kind: 'in'; me: User; permissions: ReadonlySet<string> | 'all' };

/** The admin console: tabs of screens over one signed-in client, a status line and key help. */
export function AdminApp({ client, color = colorsEnabled(), screens = builtinScreens, refreshMs = 3000, initialScreen, email }: AdminAppProps) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize();
  const [index, setIndex] = useState(() => Math.max(0, screens.findIndex((s) => s.id === initialScreen)));
  const [help, setHelp] = useState(false);
  const [status, setStatus] = useState<Status | null>(null);
  const keys = useMemo(createKeyRouter, []);
  const [tick, setTick] = useState(0);
  const [liveTick, setLiveTick] = useState(0);
  const [auth, setAuth] = useState<Auth>({ kind: 'checking' });
  const [authRound, setAuthRound] = useState(0);

  const api = useMemo(() => createApi(client, () => setAuth({ kind: 'login', reason: 'Your session has expired: sign in again.' })), [client]);

  // Who is signed in, and what they may do (the server checks every call anyway).
  useEffect(() => {
    let cancelled = false;
    (async () => {
      if (!(await client.session.get())) return setAuth({ kind: 'login' });
      try {
        const me = await api.run((c) => c.getMe());
        let permissions: ReadonlySet<string> | 'all' = new Set();
        if (me.roles.includes('admin')) permissions = 'all';
        else {
          const roles = await api.run((c) => c.listRoles()).catch(() => ({ data: [] }));
          permissions = new Set(roles.data.filter((r) => me.roles.includes(r.name)).flatMap((r) => r.permissions));
        }
        if (!cancelled) setAuth({ kind: 'in', me, permissions });
      } catch (error) {
        if (!cancelled) setAuth((old) => (old.kind === 'login' ? old : { kind: 'login', reason: readableError(error) }));
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [client, api, authRound]);

  useEffect(() => {
    if (refreshMs <= 0) return;
    const timer = setInterval(() => setLiveTick((n) => n + 1), refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs]);

  const check = useCallback((signal: AbortSignal) => client.health(undefined, { signal }), [client]);
  const health = useHealth(check, `${tick}:${liveTick}`);

  const signedIn = auth.kind === 'in';
  const screen = screens[index]!;
  // The latest render's handler (a key may arrive before Ink re-subscribes it).
  const onKey = useRef<(input: string, key: Key) => void>(() => undefined);
  onKey.current = (input, key) => {
      const name = keyName(input, key);
      if (help) {
        if (name === 'esc' || name === '?' || name === 'q') setHelp(false);
        return;
      }
      const action = actionFor(name, globalBindings);
      if (action === 'quit') exit();
      else if (action === 'help') setHelp(true);
      else if (action === 'refresh') {
        setStatus(null);
        setTick((n) => n + 1);
      } else if (action === 'nextScreen') setIndex((i) => (i + 1) % screens.length);
      else if (action === 'prevScreen') setIndex((i) => (i - 1 + screens.length) % screens.length);
      else if (action === 'screen') {
        const n = Number(name) - 1;
        if (n < screens.length) setIndex(n);
      }
      if (action === 'nextScreen' || action === 'prevScreen' || action === 'screen') setStatus(null);
    };
  // The one subscription to the keyboard: prompts (also the sign-in) capture keys, else global keys, then the screen.
  useInput((input, key) => keys.dispatch(input, key, (i, k) => (signedIn ? onKey.current(i, k) : undefined)));

  const bodyRows = Math.max(3, rows - 5);
  const context: ConsoleContext | null =
    auth.kind === 'in'
      ? {
          api, color, columns: Math.max(20, columns - 2), rows, bodyRows, setStatus, active: !help, tick, liveTick,
          can: (permission) => auth.permissions === 'all' || auth.permissions.has(permission),
        }
      : null;

  const who = auth.kind === 'in' ? `${auth.me.email} (${auth.me.roles.join(', ') || 'no roles'})` : '';
  const Screen = screen.Component;
  return (
    <KeyRouterContext.Provider value={keys.router}>
    <Box flexDirection="column" paddingX={1} width={columns} height={rows}>
      <Text>
        <Text bold>Plinth admin</Text> · {fit(`${client.baseUrl}${who ? ` · ${who}` : ''}`, Math.max(10, columns - 34))} · <Health state={health} color={color} />
      </Text>
      <Tabs screens={screens} index={index} color={color} width={columns - 2} />
      {auth.kind === 'checking' && <Text dimColor>Checking the session…</Text>}
      {auth.kind === 'login' && (
        <Login
          client={client}
          color={color}
          email={email}
          {...(auth.reason ? { reason: auth.reason } : {})}
          onDone={() => {
            setAuth({ kind: 'checking' });
            setAuthRound((n) => n + 1);
          }}
        />
      )}
      {context && (
        <Console.Provider value={context}>
          <Box flexDirection="column" height={bodyRows} overflow="hidden" display={help ? 'none' : 'flex'}>
            <Screen key={screen.id} />
          </Box>
          {help && <Help screen={screen} height={bodyRows} />}
        </Console.Provider>
      )}
      <Box flexGrow={1} />
      <StatusLine status={status} color={color} width={columns - 2} />
      <Footer screen={screen} width={columns - 2} />
    </Box>
    </KeyRouterContext.Provider>
  );
}

function Health({ state, color }: { state: HealthState; color: boolean }) {
  const paint = (name: string) => (color ? name : undefined);
  switch (state.kind) {
    case 'connecting':
      return <Text color={paint('yellow')}>connecting…</Text>;
    case 'healthy':
      return <Text color={paint('green')}>healthy</Text>;
    case 'error':
      return <Text color={paint('red')}>{state.message}</Text>;
  }
}

/**
 * The tab labels for a bar `width` wide: ` 1 Users ` each when they fit, then
 * `1 Users` one space apart, then only the current tab named (`1 2 [3 Orders] 4`).
 * Without colours the current tab is in brackets.
 */
export function tabLabels(titles: readonly string[], index: number, width: number, color: boolean): { labels: string[]; gap: string } {
  const mark = (label: string, i: number) => (i === index && !color ? `[${label}]` : label);
  const fits = (labels: string[], gap: string) => labels.join(gap).length <= width;
  const roomy = titles.map((t, i) => (i === index && !color ? `[${i + 1} ${t}]` : ` ${i + 1} ${t} `));
  if (fits(roomy, '')) return { labels: roomy, gap: '' };
  const tight = titles.map((t, i) => mark(`${i + 1} ${t}`, i));
  if (fits(tight, ' ')) return { labels: tight, gap: ' ' };
  return { labels: titles.map((t, i) => mark(i === index ? `${i + 1} ${t}` : String(i + 1), i)), gap: ' ' };
}

function Tabs({ screens, index, color, width }: { screens: readonly ScreenDef[]; index: number; color: boolean; width: number }) {
  const { labels, gap } = tabLabels(
    screens.map((s) => s.title),
    index,
    width,
    color,
  );
  return (
    <Box>
      {screens.map((s, i) => (
        <Text key={s.id}>
          {i > 0 && gap}
          <Text inverse={color && i === index} bold={i === index}>
            {labels[i]}
          </Text>
        </Text>
      ))}
    </Box>
  );
}

function StatusLine({ status, color, width }: { status: Status | null; color: boolean; width: number }) {
  if (!status) return <Text> </Text>;
  const tint = { info: undefined, progress: 'yellow', ok: 'green', error: 'red' }[status.kind];
  const mark = { info: '', progress: '… ', ok: '✓ ', error: '✗ ' }[status.kind];
  return <Text color={color ? tint : undefined}>{fit(`${mark}${status.text}`, width)}</Text>;
}

function Footer({ screen, width }: { screen: ScreenDef; width: number }) {
  const hints = [...screen.bindings.map((b) => `${b.keys[0]} ${b.label.split(' (')[0]}`), '/ search', '? help', 'q quit'];
  return <Text dimColor>{fit(hints.join(' · '), width)}</Text>;
}

/** Every key of the current screen, from the binding tables. */
function Help({ screen, height }: { screen: ScreenDef; height: number }) {
  const groups: [string, readonly KeyBinding[]][] = [
    [`${screen.title}`, screen.bindings],
    ['Lists', listBindings],
    ['Everywhere', globalBindings],
  ];
  const lines: string[] = [];
  for (const [title, bindings] of groups) {
    if (!bindings.length) continue;
    lines.push(`${title}:`);
    for (const b of bindings) lines.push(`  ${fit(keysLabel(b), 22)} ${b.label}`);
  }
  const columns = lines.length > height - 1 ? 2 : 1;
  const perColumn = Math.ceil(lines.length / columns);
  return (
    <Box flexDirection="column" height={height}>
      <Text bold>Keys on {screen.title} (esc or ? closes)</Text>
      <Box>
        {Array.from({ length: columns }, (_, c) => (
          <Box key={c} flexDirection="column" width={columns === 2 ? '50%' : '100%'}>
            {lines.slice(c * perColumn, (c + 1) * perColumn).map((line, i) => (
              <Text key={i} wrap="truncate-end">
                {line}
              </Text>
            ))}
          </Box>
        ))}
      </Box>
    </Box>
  );
}
