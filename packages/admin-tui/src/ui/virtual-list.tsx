import { Box, Text } from 'ink';
import { useRef } from 'react';
import { fit } from '../format.js';

export interface VirtualListProps<T> {
  items: readonly T[];
  selected: number;
  /** Rows available for items (the header row excluded). `width` includes a 2-column margin for the selection mark. */
  height: number;
  width: number;
  header?: string;
  render: (item: T, index: number) => string;
  color: boolean;
  /** Shown when there are no items. */
  empty?: string;
  /** Shown below the last row while more can be loaded. */
  more?: boolean;
}

/**
 * A list that draws only the rows in view: 10 000 items cost as much to draw
 * as 20. The window follows the selection and moves as little as it can.
 */
export function VirtualList<T>({ items, selected: wanted, height, width, header, render, color, empty = 'Nothing here.', more }: VirtualListProps<T>) {
  const offset = useRef(0);
  // A selection past the end (the list shrank on reload) shows the last row.
  const selected = Math.min(wanted, Math.max(0, items.length - 1));
  const rows = Math.max(1, height);
  if (selected < offset.current) offset.current = selected;
  if (selected >= offset.current + rows) offset.current = selected - rows + 1;
  offset.current = Math.max(0, Math.min(offset.current, Math.max(0, items.length - rows)));
  const start = offset.current;
  const visible = items.slice(start, start + rows);
  const position = items.length ? `${selected + 1}/${items.length}${more ? '+' : ''}` : '';
  return (
    <Box flexDirection="column">
      {header !== undefined && (
        <Text bold>
          {fit(`  ${header}`, Math.max(1, width - position.length - 1))} <Text dimColor>{position}</Text>
        </Text>
      )}
      {items.length === 0 && <Text dimColor>{empty}</Text>}
      {visible.map((item, i) => {
        const index = start + i;
        // The selection is marked in a margin of its own (no text is covered): `>`, and reverse video with colours.
        const line = `${index === selected ? '>' : ' '} ${fit(render(item, index), width - 2)}`;
        return index === selected ? (
          <Text key={index} inverse={color} bold={!color}>
            {line}
          </Text>
        ) : (
          <Text key={index}>{line}</Text>
        );
      })}
    </Box>
  );
}

/** Where the selection goes for a list action. */
export function move(action: string, selected: number, count: number, page: number): number {
  const last = Math.max(0, count - 1);
  switch (action) {
    case 'up':
      return Math.max(0, selected - 1);
    case 'down':
      return Math.min(last, selected + 1);
    case 'pageUp':
      return Math.max(0, selected - Math.max(1, page));
    case 'pageDown':
      return Math.min(last, selected + Math.max(1, page));
    case 'top':
      return 0;
    case 'bottom':
      return last;
    default:
      return selected;
  }
}
