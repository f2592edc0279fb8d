import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('.', import.meta.url));
const shipped = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'test-app.ts');
const importsOf = (file: string) =>
  [...readFileSync(`${dir}/${file}`, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);

describe('what the client may import', () => {
  it('takes only the contract from core, never the core root (drivers) or the server', () => {
    for (const file of shipped) {
      for (const specifier of importsOf(file)) {
        // Only the Node entry and what it alone imports may use undici and node: modules.
        const nodeOnly = (file === 'node.ts' || file === 'file-token-store.ts') && (specifier === 'undici' || specifier.startsWith('node:'));
        const allowed = specifier.startsWith('./') || specifier === '@plinth/core/contract' || nodeOnly;
        expect(allowed, `${file} imports ${specifier}`).toBe(true);
      }
    }
    expect(shipped).toContain('index.ts');
    // The universal entry never reaches a Node-only file.
    expect(importsOf('index.ts')).not.toContain('./file-token-store.js');
  });
});
