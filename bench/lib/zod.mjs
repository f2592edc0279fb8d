/**
 * zod, resolved through @plinth/core: bench does not depend on zod itself, and
 * the schemas should come from the same copy of zod the core validates with.
 * Node 20 has no `import.meta.resolve(specifier, parent)`, so resolve zod's
 * package.json from the core's location and load its ESM entry.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const requireFromCore = createRequire(import.meta.resolve('@plinth/core'));
const packageJsonPath = requireFromCore.resolve('zod/package.json');
const { exports } = JSON.parse(readFileSync(packageJsonPath, 'utf8'));
const root = exports['.'];
const entry = typeof root === 'string' ? root : (root.import?.default ?? root.import ?? root.default);

export const { z } = await import(pathToFileURL(join(dirname(packageJsonPath), entry)).href);
