/**
 * Summarizes a `.cpuprofile` (from BENCH_CPU_PROF=1) in the terminal:
 *   node bench/lib/profile-summary.mjs <file> [self|package|fn] [top]
 * `self`: functions by self time; `package`: time spent under each package or source file
 * (inclusive); `fn`: functions by inclusive time.
 */
import { readFileSync } from 'node:fs';

const [file, mode = 'self', top = '40'] = process.argv.slice(2);
if (!file || !['self', 'package', 'fn'].includes(mode)) {
  console.error('usage: node bench/lib/profile-summary.mjs <file.cpuprofile> [self|package|fn] [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const timeByNode = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  timeByNode.set(id, (timeByNode.get(id) ?? 0) + dt);
  total += dt;
});

const shortUrl = (url) => url.replace(/.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, 'nm/').replace(/.*\/packages\//, 'pk/');
const fnKey = (n) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber}`;
const packageKey = (n) => {
  const url = shortUrl(n.callFrame.url);
  return url.startsWith('nm/') ? url.split('/').slice(0, url.startsWith('nm/@') ? 3 : 2).join('/') : url || n.callFrame.functionName;
};

const sums = new Map();
for (const [id, t] of timeByNode) {
  if (mode === 'self') {
    const key = fnKey(nodes.get(id));
    sums.set(key, (sums.get(key) ?? 0) + t);
    continue;
  }
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const key = mode === 'fn' ? fnKey(nodes.get(cur)) : packageKey(nodes.get(cur));
    if (seen.has(key)) continue;
    seen.add(key);
    sums.set(key, (sums.get(key) ?? 0) + t);
  }
}
for (const [key, t] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
}
