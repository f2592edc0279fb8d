import { defineConfig } from 'tsup';

export default defineConfig({
  // `index`: browsers and bundlers (global fetch); `node`: the same API over undici (package.json `node` condition).
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
