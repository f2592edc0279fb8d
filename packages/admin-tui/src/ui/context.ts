import { createContext, useContext } from 'react';
import type { Api } from '../api.js';

export type StatusKind = 'info' | 'progress' | 'ok' | 'error';
export interface Status {
  kind: StatusKind;
  text: string;
}

/** What every screen gets from the console's shell. */
export interface ConsoleContext {
  api: Api;
  /** Use colours (false with NO_COLOR). */
  color: boolean;
  /** Terminal size now (it follows resizes). */
  columns: number;
  rows: number;
  /** Rows a screen may draw (the terminal minus header, tabs, status line and footer). */
  bodyRows: number;
  /** The one status line: progress and results of actions, errors. */
  setStatus(status: Status | null): void;
  /** True while this screen owns the keyboard (not hidden behind help or the sign-in prompt). */
  active: boolean;
  /** Bumped by `r`: everything reloads. */
  tick: number;
  /** Bumped by the live refresh timer: live views (the dashboard) reload. */
  liveTick: number;
  /** The signed-in user's permissions decide which actions are offered. */
  can(permission: string): boolean;
}

export const Console = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const value = useContext(Console);
  if (!value) throw new Error('useConsole() outside the admin console');
  return value;
}

/** Colour name, or undefined when colours are off. */
export function paint(ctx: Pick<ConsoleContext, 'color'>, name: string): string | undefined {
  return ctx.color ? name : undefined;
}
