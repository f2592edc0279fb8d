/**
 * The pieces every list screen is made of, written once: the selection and
 * the list keys (with the next page fetched as the selection nears the end),
 * the error line and table, a yes/no step before a change, and the
 * permission check that refuses an action with a readable line.
 */
import { Text } from 'ink';
import { type ReactNode, useState } from 'react';
import { type Column, header, layout, row } from '../format.js';
import { type ConsoleContext, paint, useConsole } from './context.js';
import type { Paged } from './hooks.js';
import { Confirm } from './prompt.js';
import { move, VirtualList } from './virtual-list.js';

const MOVES = new Set(['up', 'down', 'pageUp', 'pageDown', 'top', 'bottom']);

export interface ListNav {
  selected: number;
  setSelected(index: number): void;
  /** Moves the selection for a list action; false when `action` is not a move. */
  handle(action: string): boolean;
}

/** The selection of a list of `count` rows; `list` gets its next page when fewer than 20 rows are left below. */
export function useListNav(count: number, list?: Pick<Paged<unknown>, 'loadMore'>, page?: number): ListNav {
  const ctx = useConsole();
  const [selected, setSelected] = useState(0);
  return {
    selected,
    setSelected,
    handle(action) {
      if (!MOVES.has(action)) return false;
      const next = move(action, selected, count, page ?? ctx.bodyRows - 3);
      setSelected(next);
      if (list && next >= count - 20) list.loadMore();
      return true;
    },
  };
}

export interface ListTableProps<T> {
  list: Pick<Paged<T>, 'items' | 'loading' | 'error' | 'more'>;
  columns: readonly Column<T>[];
  selected: number;
  /** Shown when the list is empty (and not loading). */
  empty: string;
  /** Rows for the table, its header included; default the screen body less its title line. */
  height?: number;
}

/** The list's error (one line, the rows loaded so far stay) and its rows as a table that fits the width. */
export function ListTable<T>({ list, columns, selected, empty, height }: ListTableProps<T>) {
  const ctx = useConsole();
  const widths = layout(columns, ctx.columns - 2);
  return (
    <>
      {list.error && <Text color={paint(ctx, 'red')}>{list.error}</Text>}
      <VirtualList
        items={list.items}
        selected={selected}
        height={(height ?? ctx.bodyRows - 1) - 1}
        width={ctx.columns}
        header={header(columns, widths)}
        render={(item) => row(columns, widths, item)}
        color={ctx.color}
        empty={list.loading ? 'Loading…' : empty}
        more={list.more}
      />
    </>
  );
}

/**
 * A yes/no step before a change: `ask(question, act)` shows the question in
 * place of `prompt`; `y` runs `act`, `n` or esc says nothing changed.
 */
export function useConfirm(): { ask(question: string, act: () => void): void; asking: boolean; prompt: ReactNode } {
  const ctx = useConsole();
  const [pending, setPending] = useState<{ question: string; act: () => void } | null>(null);
  const prompt = pending ? (
    <Confirm
      question={pending.question}
      onAnswer={(yes) => {
        setPending(null);
        if (yes) pending.act();
        else ctx.setStatus({ kind: 'info', text: 'Nothing changed' });
      }}
    />
  ) : null;
  return { ask: (question, act) => setPending({ question, act }), asking: pending !== null, prompt };
}

/** True when the signed-in user has `permission`; else says so on the status line (`what` needs it) and answers false. */
export function allowed(ctx: Pick<ConsoleContext, 'can' | 'setStatus'>, permission: string, what: string): boolean {
  if (ctx.can(permission)) return true;
  ctx.setStatus({ kind: 'error', text: `Not allowed: ${what} needs the ${permission} permission` });
  return false;
}
