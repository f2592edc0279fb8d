/** Text helpers for fixed-width columns. */

/** Pads or cuts `text` to exactly `width` characters (an ellipsis marks a cut). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
  const pad = ' '.repeat(width - chars.length);
  return align === 'right' ? pad + text : text + pad;
}

export interface Column<T> {
  title: string;
  /** Width in characters; `0` takes what is left (at least 8). */
  width: number;
  align?: 'left' | 'right';
  /** Dropped (last ones first) when the terminal is too narrow for every column. */
  optional?: boolean;
  value: (row: T) => string;
}

/** Widths for a terminal `total` columns wide: flexible columns share what fixed ones leave. */
/** Widths for a terminal `total` columns wide: flexible columns share what fixed ones leave; 0 marks a dropped column. */
export function layout<T>(columns: readonly Column<T>[], total: number): number[] {
  const shown = columns.map(() => true);
  const need = () => {
    const kept = columns.filter((_, i) => shown[i]);
    return kept.reduce((sum, c) => sum + (c.width || 12), 0) + kept.length - 1;
  };
  for (let i = columns.length - 1; i >= 0 && need() > total; i--) if (columns[i]!.optional) shown[i] = false;
  const kept = columns.filter((_, i) => shown[i]);
  const fixed = kept.reduce((sum, c) => sum + c.width, 0);
  const flexible = kept.filter((c) => c.width === 0).length;
  const left = Math.max(0, total - fixed - (kept.length - 1));
  return columns.map((c, i) => (!shown[i] ? 0 : c.width === 0 ? Math.max(8, Math.floor(left / Math.max(1, flexible))) : c.width));
}

export function row<T>(columns: readonly Column<T>[], widths: readonly number[], item: T): string {
  return columns.flatMap((c, i) => (widths[i] ? [fit(c.value(item), widths[i]!, c.align)] : [])).join(' ');
}

export function header<T>(columns: readonly Column<T>[], widths: readonly number[]): string {
  return columns.flatMap((c, i) => (widths[i] ? [fit(c.title, widths[i]!, c.align)] : [])).join(' ');
}

/** `12.34 EUR` from minor units (2 decimals unless the currency has none). */
export function money(m: { amount: number; currency: string }): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: m.currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    digits = 2;
  }
  return `${(m.amount / 10 ** digits).toFixed(digits)} ${m.currency}`;
}

/** Parses `12.34` in a currency's minor units; undefined when it is not an amount. */
export function parseAmount(text: string, currency: string): number | undefined {
  const digits = money({ amount: 0, currency }).split(' ')[0]!.split('.')[1]?.length ?? 0;
  const match = /^\s*(\d{1,13})(?:\.(\d*))?\s*$/.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined;
  return Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

/** `2026-11-21 14:03` (UTC) from an RFC 3339 time. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 16).replace('T', ' ');
}

/** `3m 20s`, `2h 5m`, `1d 3h`: a duration in seconds, for ages. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 1) return '0s';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}
