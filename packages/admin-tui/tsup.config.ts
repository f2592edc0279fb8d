import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', credentials: 'src/credentials.ts', charts: 'src/charts.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
