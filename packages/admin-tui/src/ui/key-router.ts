import type { Key } from 'ink';
import { createContext, useContext, useLayoutEffect, useRef } from 'react';

export type KeyHandler = (input: string, key: Key) => void;

/**
 * One keyboard for the whole console. Ink subscribes `useInput` handlers in
 * passive effects, which run some time after a frame is drawn: a key typed
 * right after a prompt appears would reach the old handlers. The console
 * therefore reads keys once and hands them out here; handlers register in
 * layout effects (synchronously with the commit that draws them) and always
 * run their latest render's closure.
 *
 * - A *capturing* handler (a text field, a yes/no question) gets every key while
 *   it is mounted; the newest one wins.
 * - Otherwise the global keys run, then the current screen's handler.
 */
export interface KeyRouter {
  capture(handler: { current: KeyHandler }): () => void;
  screen(handler: { current: KeyHandler }): () => void;
}

export function createKeyRouter() {
  const captures: { current: KeyHandler }[] = [];
  const screens: { current: KeyHandler }[] = [];
  const router: KeyRouter = {
    capture(handler) {
      captures.push(handler);
      return () => void captures.splice(captures.indexOf(handler), 1);
    },
    screen(handler) {
      screens.push(handler);
      return () => void screens.splice(screens.indexOf(handler), 1);
    },
  };
  return {
    router,
    capturing: () => captures.length > 0,
    /** Routes one key: to the newest capture, else `global` then the screens. */
    dispatch(input: string, key: Key, global: KeyHandler) {
      const top = captures[captures.length - 1];
      if (top) return top.current(input, key);
      global(input, key);
      for (const handler of [...screens]) handler.current(input, key);
    },
  };
}

export const KeyRouterContext = createContext<KeyRouter | null>(null);

function useRouter(): KeyRouter {
  const router = useContext(KeyRouterContext);
  if (!router) throw new Error('key handlers need the admin console around them');
  return router;
}

/** Registers `handler` (its latest version) while mounted and `active`. */
export function useKeys(handler: KeyHandler, options: { capture?: boolean; active?: boolean } = {}): void {
  const router = useRouter();
  const latest = useRef(handler);
  latest.current = handler;
  const { capture = false, active = true } = options;
  useLayoutEffect(() => {
    if (!active) return;
    return capture ? router.capture(latest) : router.screen(latest);
  }, [router, capture, active]);
}
