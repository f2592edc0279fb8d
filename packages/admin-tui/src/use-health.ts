import { isPlinthApiError } from '@plinth/client';
import { useCallback, useEffect, useState } from 'react';

export type HealthState = { kind: 'connecting' } | { kind: 'healthy' } | { kind: 'error'; message: string };

/**
 * Runs `check` on mount and on every `refresh()`; a check still running when
 * the component unmounts or refreshes is aborted and its result ignored.
 */
export function useHealth(check: (signal: AbortSignal) => Promise<unknown>): { state: HealthState; refresh: () => void } {
  const [state, setState] = useState<HealthState>({ kind: 'connecting' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setState({ kind: 'connecting' });
    check(controller.signal).then(
      () => {
        if (!controller.signal.aborted) setState({ kind: 'healthy' });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ kind: 'error', message: readableError(error) });
      },
    );
    return () => controller.abort();
  }, [check, attempt]);

  const refresh = useCallback(() => setAttempt((n) => n + 1), []);
  return { state, refresh };
}

/** One line a person can read: the API error's message (never a stack trace). */
export function readableError(error: unknown): string {
  const message = isPlinthApiError(error) || error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] || 'Unknown error';
}
