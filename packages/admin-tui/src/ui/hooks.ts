import { useCallback, useEffect, useRef, useState } from 'react';
import { type AdminClient, readableError, SessionExpiredError } from '../api.js';
import { type Status, useConsole } from './context.js';

export type Load<T> = { state: 'loading'; data?: T } | { state: 'ok'; data: T } | { state: 'error'; message: string; data?: T };

/**
 * Loads `fetch` on mount, when `deps` change and on every tick (r, live
 * refresh); a stale answer is dropped. Errors become one readable line.
 */
export function useLoad<T>(fetch: (client: AdminClient, signal: AbortSignal) => Promise<T>, deps: readonly unknown[], options: { live?: boolean } = {}): Load<T> & { reload(): void } {
  const ctx = useConsole();
  const [load, setLoad] = useState<Load<T>>({ state: 'loading' });
  const [nonce, setNonce] = useState(0);
  const tick = options.live ? `${ctx.tick}:${ctx.liveTick}` : ctx.tick;
  useEffect(() => {
    const controller = new AbortController();
    setLoad((old) => ({ state: 'loading', ...(old.data === undefined ? {} : { data: old.data }) }));
    ctx.api.run((client) => fetch(client, controller.signal)).then(
      (data) => {
        if (!controller.signal.aborted) setLoad({ state: 'ok', data });
      },
      (error: unknown) => {
        if (controller.signal.aborted || error instanceof SessionExpiredError) return;
        setLoad((old) => ({ state: 'error', message: readableError(error), ...(old.data === undefined ? {} : { data: old.data }) }));
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...load, reload };
}

export interface Paged<T> {
  items: T[];
  loading: boolean;
  error: string | undefined;
  /** More pages exist on the server. */
  more: boolean;
  /** Fetches the next page (no-op while one is loading or when there is none). */
  loadMore(): void;
  reload(): void;
}

/**
 * A cursor-paginated list: the first page on mount and when `deps` change,
 * later pages on demand (`loadMore`, when the selection nears the end).
 */
export function usePaged<T>(fetch: (client: AdminClient, cursor: string | undefined) => Promise<{ data: T[]; nextCursor: string | null }>, deps: readonly unknown[]): Paged<T> {
  const ctx = useConsole();
  // Rows remember which query they answer: after a new search or filter, the old rows are
  // never shown as its answer, not even for the one frame before the new request starts.
  const key = JSON.stringify(deps);
  const [loaded, setLoaded] = useState<{ key: string; items: T[] }>({ key, items: [] });
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const cursor = useRef<string | null>(null);
  const generation = useRef(0);
  const busy = useRef(false);
  const [nonce, setNonce] = useState(0);

  const page = useCallback(
    (first: boolean) => {
      const mine = first ? ++generation.current : generation.current;
      if (!first && (busy.current || cursor.current === null)) return;
      busy.current = true;
      setLoading(true);
      ctx.api
        .run((client) => fetch(client, first ? undefined : (cursor.current ?? undefined)))
        .then(
          (answer) => {
            if (mine !== generation.current) return;
            cursor.current = answer.nextCursor;
            setLoaded((old) => ({ key, items: first || old.key !== key ? answer.data : [...old.items, ...answer.data] }));
            setError(undefined);
          },
          (failure: unknown) => {
            if (mine !== generation.current || failure instanceof SessionExpiredError) return;
            setError(readableError(failure));
          },
        )
        .finally(() => {
          if (mine !== generation.current) return;
          busy.current = false;
          setLoading(false);
        });
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    deps,
  );
  useEffect(() => {
    busy.current = false;
    page(true);
  }, [page, nonce, ctx.tick]);
  const loadMore = useCallback(() => page(false), [page]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const current = loaded.key === key;
  return { items: current ? loaded.items : [], loading: loading || !current, error, more: current && cursor.current !== null, loadMore, reload };
}

/**
 * Runs a change through the API with a progress line, then the result (or the
 * server's error) on the status line; `after` runs on success (reload). `done`
 * answers the result line, or a whole status when the change went through but
 * its outcome is bad news (a replayed webhook the receiver refused again).
 */
export function useAction() {
  const ctx = useConsole();
  const [running, setRunning] = useState(false);
  const run = useCallback(
    async <T>(progress: string, fn: (client: AdminClient) => Promise<T>, done: (result: T) => string | Status, after?: (result: T) => void): Promise<boolean> => {
      setRunning(true);
      ctx.setStatus({ kind: 'progress', text: `${progress}…` });
      try {
        const result = await ctx.api.run(fn);
        const outcome = done(result);
        ctx.setStatus(typeof outcome === 'string' ? { kind: 'ok', text: outcome } : outcome);
        after?.(result);
        return true;
      } catch (error) {
        if (!(error instanceof SessionExpiredError)) ctx.setStatus({ kind: 'error', text: readableError(error) });
        return false;
      } finally {
        setRunning(false);
      }
    },
    [ctx],
  );
  return { run, running };
}
