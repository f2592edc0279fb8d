import type { ComponentType } from 'react';
import type { KeyBinding } from '../key-bindings.js';

/**
 * One screen of the console. The tab bar, the `1-9` keys and the help screen
 * are built from the list of these (`screens/index.ts`): a new screen (e.g.
 * Webhooks, Reports) is one more entry.
 */
export interface ScreenDef {
  id: string;
  title: string;
  /** The screen's own keys (besides the global and list keys), for the help screen and footer. */
  bindings: readonly KeyBinding[];
  /** Keys that also work in a screen's detail view, listed in the help screen. */
  Component: ComponentType;
  /** Shown dimmed in the tab bar when the user lacks it (the server refuses anyway). */
  permission?: string;
}
