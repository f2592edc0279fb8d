/** What a key does in the console. */
export type AdminAction = 'quit' | 'refresh';

export interface KeyBinding {
  /** The key as typed, e.g. `q`. */
  key: string;
  action: AdminAction;
  /** Short label for the footer. */
  label: string;
}

/** Every key the console answers to; the footer is generated from this list. */
export const keyBindings = [
  { key: 'q', action: 'quit', label: 'quit' },
  { key: 'r', action: 'refresh', label: 'refresh' },
] as const satisfies readonly KeyBinding[];

/** The action bound to a typed key, if any. */
export function actionFor(input: string, bindings: readonly KeyBinding[] = keyBindings): AdminAction | undefined {
  return bindings.find((binding) => binding.key === input)?.action;
}
