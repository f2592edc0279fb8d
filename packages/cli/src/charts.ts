/**
 * Terminal charts without a dependency: a bar per bucket (time runs down the
 * screen, so any number of buckets fits) and sparklines for a one-line trend.
 */

const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** A bar of `value / max` of `width` cells, with eighth-cell precision. */
export function bar(value: number, max: number, width: number): string {
  if (!(max > 0) || !(value > 0)) return '';
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + BLOCKS[eighths % 8];
}

/** `▁▂▅█▃`: one character per value, scaled between the smallest and the largest. */
export function sparkline(values: readonly number[]): string {
  if (!values.length) return '';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => (hi === lo ? (hi > 0 ? SPARKS[3] : SPARKS[0]) : SPARKS[Math.round(((v - lo) / (hi - lo)) * (SPARKS.length - 1))])).join('');
}

export interface BarChartOptions {
  title: string;
  /** Width of the longest bar in cells; default 40. */
  width?: number;
  /** How a value is printed beside its bar; default the number. */
  format?: (value: number) => string;
}

/** A titled bar chart: one line per point, `label │█████ value`. */
export function barChart(points: readonly { label: string; value: number }[], options: BarChartOptions): string[] {
  const width = options.width ?? 40;
  const format = options.format ?? ((v: number) => String(v));
  const max = Math.max(0, ...points.map((p) => p.value));
  const labelWidth = Math.max(0, ...points.map((p) => p.label.length));
  const lines = [options.title];
  if (!points.length) return [...lines, '  (no data)'];
  for (const p of points) lines.push(`  ${p.label.padEnd(labelWidth)} │${bar(p.value, max, width).padEnd(width + 1)} ${format(p.value)}`);
  return lines;
}

/** Minor units as a decimal amount with its currency: `1234.50 EUR` (two decimals unless the currency has none). */
export function formatMoney(amount: number, currency: string): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // an unknown code: two decimals
  }
  return `${(amount / 10 ** digits).toFixed(digits)} ${currency}`;
}
