import { actionFor, type KeyBinding, keyName, listBindings } from '../key-bindings.js';
import { useConsole } from './context.js';
import { useKeys } from './key-router.js';

/**
 * A screen's key handler: the list keys and the screen's own bindings become
 * actions; only while the screen owns the keyboard and `enabled`.
 */
export function useScreenKeys(bindings: readonly KeyBinding[], onAction: (action: string) => void, enabled = true): void {
  const ctx = useConsole();
  useKeys(
    (input, key) => {
      const name = keyName(input, key);
      const action = actionFor(name, bindings) ?? actionFor(name, listBindings);
      if (action) onAction(action);
    },
    { active: ctx.active && enabled },
  );
}
