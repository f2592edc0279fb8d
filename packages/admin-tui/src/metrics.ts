/** The few Prometheus samples the dashboard reads from `/metrics`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format (comments skipped, labels unescaped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(match[3]);
    if (!Number.isNaN(value)) samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** Sum of a metric's samples whose labels match `where`. */
export function sum(samples: readonly Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((total, s) => total + s.value, 0);
}

export function max(samples: readonly Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((m, s) => Math.max(m, s.value), 0);
}

/** HTTP totals at one moment: requests and 5xx answers (`plinth_http_requests_total`). */
export function httpTotals(samples: readonly Sample[]): { requests: number; errors: number } {
  return {
    requests: sum(samples, 'plinth_http_requests_total'),
    errors: sum(samples, 'plinth_http_requests_total', (l) => (l.status ?? '').startsWith('5')),
  };
}
