/**
 * Key bindings are data: the console matches keys against these tables and the
 * help screen (`?`) and the footer are generated from them, so a key that works
 * is always listed and a listed key always works.
 */
import type { Key } from 'ink';

export interface KeyBinding<A extends string = string> {
  /** Key names as typed: a character (`q`, `/`, `G`) or a named key (`up`, `enter`, `esc`, `pgdn`, `tab`, `ctrl+f`). */
  keys: readonly string[];
  action: A;
  /** Short label for the help screen and the footer. */
  label: string;
}

/** Keys every screen answers to. */
export const globalBindings = [
  { keys: ['q'], action: 'quit', label: 'quit' },
  { keys: ['?'], action: 'help', label: 'help (keys of this screen)' },
  { keys: ['tab', 'l'], action: 'nextScreen', label: 'next screen' },
  { keys: ['shift+tab', 'h'], action: 'prevScreen', label: 'previous screen' },
  { keys: ['1', '2', '3', '4', '5', '6', '7', '8', '9'], action: 'screen', label: 'go to screen n' },
  { keys: ['r'], action: 'refresh', label: 'refresh now' },
] as const satisfies readonly KeyBinding[];
export type GlobalAction = (typeof globalBindings)[number]['action'];

/** Keys of every list (they also work in the detail views that scroll). */
export const listBindings = [
  { keys: ['up', 'k'], action: 'up', label: 'move up' },
  { keys: ['down', 'j'], action: 'down', label: 'move down' },
  { keys: ['pgup', 'ctrl+b'], action: 'pageUp', label: 'page up' },
  { keys: ['pgdn', 'ctrl+f', 'space'], action: 'pageDown', label: 'page down' },
  { keys: ['home', 'g'], action: 'top', label: 'first row' },
  { keys: ['end', 'G'], action: 'bottom', label: 'last row' },
  { keys: ['enter'], action: 'open', label: 'open the selected row' },
  { keys: ['esc'], action: 'back', label: 'back / clear the search' },
  { keys: ['/'], action: 'search', label: 'search' },
] as const satisfies readonly KeyBinding[];
export type ListAction = (typeof listBindings)[number]['action'];

/** The name of a key press, as the tables spell it. */
export function keyName(input: string, key: Key): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pgup';
  if (key.pageDown) return 'pgdn';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'enter';
  if (key.escape) return 'esc';
  if (key.tab) return key.shift ? 'shift+tab' : 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input) return `ctrl+${input.toLowerCase()}`;
  if (input === ' ') return 'space';
  return input;
}

/** The action bound to a key name, if any. */
export function actionFor<A extends string>(name: string, bindings: readonly KeyBinding<A>[]): A | undefined {
  return bindings.find((binding) => binding.keys.includes(name))?.action;
}

/** `up/k`: how a binding's keys are shown. */
export function keysLabel(binding: KeyBinding): string {
  if (binding.action === 'screen') return '1-9';
  return binding.keys.join('/');
}
