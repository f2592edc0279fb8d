import { createClient, type PlinthClient } from '@plinth/client';
import { Box, Text, useApp, useInput, useStdin } from 'ink';
import { useCallback, useMemo } from 'react';
import { actionFor, type KeyBinding, keyBindings } from './key-bindings.js';
import { type HealthState, useHealth } from './use-health.js';

export interface AdminAppProps {
  /** The Plinth server, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** The client to talk through; default `createClient({ baseUrl, timeoutMs: 5000 })`. */
  client?: Pick<PlinthClient, 'health'>;
  /** Use colours; default true unless `NO_COLOR` is set (Ink also drops them when the terminal has none). */
  color?: boolean;
}

/** Health checks give up after this long: a console should not hang on a dead server. */
export const HEALTH_TIMEOUT_MS = 5000;

/** `NO_COLOR` (https://no-color.org): set and not empty turns colours off. */
export function colorsEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return !env.NO_COLOR;
}

/** The admin console's shell: header, the server and its health, key hints. */
export function AdminApp({ baseUrl, client: givenClient, color = colorsEnabled() }: AdminAppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();

  // A bad URL is shown like any other connection error, not thrown out of render.
  const client = useMemo(() => {
    try {
      return givenClient ?? createClient({ baseUrl, timeoutMs: HEALTH_TIMEOUT_MS });
    } catch (error) {
      return { health: () => Promise.reject(error) };
    }
  }, [baseUrl, givenClient]);
  const check = useCallback((signal: AbortSignal) => client.health(undefined, { signal }), [client]);
  const { state, refresh } = useHealth(check);

  useInput(
    (input) => {
      const action = actionFor(input);
      if (action === 'quit') exit();
      else if (action === 'refresh') refresh();
    },
    { isActive: isRawModeSupported === true },
  );

  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold>Plinth admin</Text>
      <Box marginY={1}>
        <Text>
          Server {baseUrl} · <Health state={state} color={color} />
        </Text>
      </Box>
      <Footer bindings={keyBindings} />
    </Box>
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

function Footer({ bindings }: { bindings: readonly KeyBinding[] }) {
  return <Text dimColor>{bindings.map((b) => `${b.key} ${b.label}`).join('  ·  ')}</Text>;
}
