import { Box, Text } from 'ink';
import { useRef, useState } from 'react';
import { keyName } from '../key-bindings.js';
import { useKeys } from './key-router.js';

export interface PromptProps {
  label: string;
  initial?: string;
  /** Show `*` instead of the characters (passwords). */
  secret?: boolean;
  onSubmit(value: string): void;
  onCancel(): void;
  /** Live value changes (search as you type). */
  onChange?(value: string): void;
  active?: boolean;
}

/** A one-line text field: type, backspace, enter submits, esc cancels. */
export function Prompt({ label, initial = '', secret, onSubmit, onCancel, onChange, active = true }: PromptProps) {
  const [value, setValue] = useState(initial);
  // Keys can arrive faster than renders: each one edits what the previous one left, not the last render's value.
  const current = useRef(initial);
  useKeys(
    (input, key) => {
      const name = keyName(input, key);
      const value = current.current;
      if (name === 'enter') return onSubmit(value);
      // Text and Enter can come in one read (a paste, a fast terminal): the line ends at the newline.
      const newline = key.ctrl || key.meta ? -1 : input.search(/[\r\n]/);
      if (newline >= 0) {
        const line = value + input.slice(0, newline).replace(/[\u0000-\u001f\u007f]/g, '');
        current.current = line;
        setValue(line);
        return onSubmit(line);
      }
      if (name === 'esc') return onCancel();
      let next = value;
      if (name === 'backspace') next = [...value].slice(0, -1).join('');
      else if (name === 'ctrl+u') next = '';
      else if (!key.ctrl && !key.meta && input) next = value + input.replace(/[\u0000-\u001f\u007f]/g, '');
      if (next !== value) {
        current.current = next;
        setValue(next);
        onChange?.(next);
      }
    },
    { capture: true, active },
  );
  return (
    <Box>
      <Text bold>{label} </Text>
      <Text>{secret ? '*'.repeat([...value].length) : value}</Text>
      <Text inverse> </Text>
    </Box>
  );
}

export interface ConfirmProps {
  question: string;
  onAnswer(yes: boolean): void;
  active?: boolean;
}

/** A yes/no question: `y` confirms, `n` or esc declines. */
export function Confirm({ question, onAnswer, active = true }: ConfirmProps) {
  const answered = useRef(false);
  useKeys(
    (input, key) => {
      if (answered.current) return;
      const name = keyName(input, key);
      const yes = name === 'y' || name === 'Y';
      if (!yes && name !== 'n' && name !== 'N' && name !== 'esc') return;
      answered.current = true;
      onAnswer(yes);
    },
    { capture: true, active },
  );
  return (
    <Text bold>
      {question} <Text dimColor>[y/n]</Text>
    </Text>
  );
}
