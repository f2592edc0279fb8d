import { useEffect, useState } from 'react';
import { readableError } from './api.js';

export type HealthState = { kind: 'connecting' } | { kind: 'healthy' } | { kind: 'error'; message: string };

/**
 * Runs `check` on mount and whenever `tick` changes; a check still running
 * when the component unmounts or checks again is aborted and its result ignored.
 */
export function useHealth(check: (signal: AbortSignal) => Promise<unknown>, tick: unknown): HealthState {
  const [state, setState] = useState<HealthState>({ kind: 'connecting' });
  useEffect(() => {
    const controller = new AbortController();
    check(controller.signal).then(
      () => {
        if (!controller.signal.aborted) setState({ kind: 'healthy' });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ kind: 'error', message: readableError(error) });
      },
    );
    return () => controller.abort();
  }, [check, tick]);
  return state;
}

export { readableError };
