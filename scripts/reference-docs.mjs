#!/usr/bin/env node
/**
 * Generates the reference pages that must never drift from the code:
 *
 * - docs/configuration.md, from the zod config schema (`configSchema`), its
 *   JSDoc comments in packages/core/src/config.ts, the env-var table (`envKeys`)
 *   and the defaults `parseConfig({})` fills in;
 * - docs/cli.md, from the commander program (`createProgram()`).
 *
 *   node scripts/reference-docs.mjs          # rewrite both (after `pnpm build`)
 *   node scripts/reference-docs.mjs --check  # exit 1 when either is out of date
 *
 * The tests `packages/core/test/configuration-doc.test.ts` and
 * `packages/cli/test/cli-doc.test.ts` run the same renderers over the sources.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------- configuration

/** JSDoc comment of every property of the `configSchema` object literals, by dotted key (`http.port`, `auth.oidc.*.issuer`). */
export function configComments(source, ts) {
  const file = ts.createSourceFile('config.ts', source, ts.ScriptTarget.Latest, true);
  const comments = new Map();
  const visitObject = (node, prefix) => {
    for (const prop of node.properties) {
      if (!ts.isPropertyAssignment(prop)) continue;
      const key = [...prefix, prop.name.getText(file)].join('.');
      const docs = ts.getJSDocCommentsAndTags(prop).filter(ts.isJSDoc);
      const text = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? '').join(' ').replace(/\s+/g, ' ').trim();
      if (text) comments.set(key, text);
      // Nested `z.object({...})` (also inside `z.record(key, z.object(...))`: its keys become `name.*.key`).
      const visitInner = (n, path) => {
        if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression)) {
          const method = n.expression.name.text;
          if (method === 'object' && n.arguments[0] && ts.isObjectLiteralExpression(n.arguments[0])) {
            visitObject(n.arguments[0], path);
            return;
          }
          if (method === 'record' && n.arguments[1]) {
            visitInner(n.arguments[1], [...path, '*']);
            visitInner(n.expression.expression, path);
            return;
          }
        }
        ts.forEachChild(n, (c) => visitInner(c, path));
      };
      visitInner(prop.initializer, [...prefix, prop.name.getText(file)]);
    }
  };
  const find = (node) => {
    if (ts.isVariableDeclaration(node) && node.name.getText(file) === 'configSchema') {
      let root;
      const search = (n) => {
        if (root) return;
        if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === 'object' && n.arguments[0] && ts.isObjectLiteralExpression(n.arguments[0])) {
          root = n.arguments[0];
          return;
        }
        ts.forEachChild(n, search);
      };
      search(node.initializer);
      if (root) visitObject(root, []);
      return;
    }
    ts.forEachChild(node, find);
  };
  find(file);
  return comments;
}

const def = (schema) => schema?._zod?.def;

/** The schema under wrappers (default, optional, prefault, pipe, preprocess). */
function unwrap(schema) {
  let s = schema;
  for (let i = 0; i < 20 && s; i++) {
    const d = def(s);
    if (!d) return s;
    if (['default', 'optional', 'prefault', 'nullable', 'readonly', 'catch'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe') s = def(d.out)?.type === 'transform' ? d.in : d.out;
    else return s;
  }
  return s;
}

/** A short, human type: `integer 1–65535`, `development \| production`, `list (comma-separated)`. */
function typeOf(schema) {
  const s = unwrap(schema);
  const d = def(s);
  switch (d?.type) {
    case 'enum':
      return Object.values(d.entries).map((v) => `\`${v}\``).join(' | ');
    case 'number': {
      const lo = s.minValue;
      const hi = s.maxValue;
      const int = s.isInt || (d.checks ?? []).some((c) => c._zod?.def?.format === 'safeint');
      const range = Number.isFinite(lo) && Number.isFinite(hi) && hi < Number.MAX_SAFE_INTEGER ? ` ${lo}–${hi}` : '';
      return `${int ? 'integer' : 'number'}${range}`;
    }
    case 'boolean':
      return 'boolean';
    case 'array':
      return 'list (comma-separated in env)';
    case 'record':
      return 'object by name';
    case 'string':
      return d.format === 'url' ? 'URL' : 'string';
    default:
      return d?.type ?? 'unknown';
  }
}

/** Whether the value is read through `z.preprocess` (e.g. a rate given as `"10/60"` or an object): one option, not a group. */
function isPreprocessed(schema) {
  let s = schema;
  for (let i = 0; i < 20 && s; i++) {
    const d = def(s);
    if (!d) return false;
    if (d.type === 'pipe') return def(d.in)?.type === 'transform';
    if (!['default', 'optional', 'prefault', 'nullable', 'readonly', 'catch'].includes(d.type)) return false;
    s = d.innerType;
  }
  return false;
}

/** Leaf keys of the schema, in declaration order, with their schemas; groups (objects) are walked into. */
function leaves(schema, prefix = []) {
  const s = unwrap(schema);
  const shape = s?.shape ?? def(s)?.shape;
  if (!shape || (prefix.length && isPreprocessed(schema))) return [[prefix.join('.'), schema]];
  return Object.entries(shape).flatMap(([key, child]) => leaves(child, [...prefix, key]));
}

function formatDefault(value) {
  if (value === undefined) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : `\`${value.join(',')}\``;
  if (value && typeof value === 'object') return Object.keys(value).length === 0 ? 'none' : `\`${JSON.stringify(value)}\``;
  return `\`${String(value)}\``;
}

const escapeCell = (text) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** docs/configuration.md from the config module (`configSchema`, `envKeys`, `parseConfig`), config.ts's text and the TypeScript API. */
export function renderConfigurationDoc({ configSchema, envKeys, parseConfig }, source, ts) {
  const comments = configComments(source, ts);
  const defaults = parseConfig({});
  const valueAt = (key) => key.split('.').reduce((v, k) => (v == null ? undefined : v[k]), defaults);
  const rows = leaves(configSchema);
  const groups = new Map();
  for (const [key, schema] of rows) {
    const group = key.includes('.') ? key.split('.')[0] : '';
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push([key, schema]);
  }
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated by `node scripts/reference-docs.mjs` from packages/core/src/config.ts; do not edit by hand.',
    '     packages/core/test/configuration-doc.test.ts fails when this page is out of date. -->',
    '',
    'Plinth reads its configuration once, at start, validates it with zod and freezes it. Every option can be',
    'given to `createPlinth({ ... })` (nested as shown: `{ http: { port: 3000 } }`) and most also as a `PLINTH_*`',
    'environment variable; options passed in code win over the environment (`processEnv: false` ignores it).',
    'A bad value stops the start with a message naming the key and its variable, e.g.',
    '`http.port (PLINTH_PORT): must be a port number (0-65535)`.',
    '',
    'Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`. Lists are comma-separated in the environment.',
    '',
  ];
  for (const [group, entries] of groups) {
    lines.push(group ? `## \`${group}\`` : '## General', '');
    lines.push('| option | env var | type | default | description |', '|---|---|---|---|---|');
    for (const [key, schema] of entries) {
      const env = envKeys[key] ? `\`${envKeys[key]}\`` : '—';
      const comment = comments.get(key) ?? '';
      lines.push(`| \`${key}\` | ${env} | ${escapeCell(typeOf(schema))} | ${escapeCell(formatDefault(valueAt(key)))} | ${escapeCell(comment)} |`);
      if (def(unwrap(schema))?.type === 'record') {
        const inner = unwrap(def(unwrap(schema)).valueType);
        for (const [sub, subSchema] of leaves(inner)) {
          const subKey = `${key}.*.${sub}`;
          lines.push(`| \`${subKey}\` | — | ${escapeCell(typeOf(subSchema))} | — | ${escapeCell(comments.get(subKey) ?? '')} |`);
        }
      }
    }
    lines.push('');
  }
  const undocumented = rows.map(([k]) => k).filter((k) => !comments.has(k));
  if (undocumented.length) throw new Error(`Config keys without a JSDoc comment in config.ts: ${undocumented.join(', ')}`);
  const unknownEnv = Object.keys(envKeys).filter((k) => !rows.some(([key]) => key === k));
  if (unknownEnv.length) throw new Error(`envKeys names keys the schema does not have: ${unknownEnv.join(', ')}`);
  return `${lines.join('\n').trimEnd()}\n`;
}

// ---------------------------------------------------------------- CLI

function commandPath(command) {
  const names = [];
  for (let c = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function optionRows(options) {
  return options
    .filter((o) => !o.hidden)
    .map((o) => {
      const dflt = o.defaultValue === undefined || o.negate ? '' : ` (default: \`${JSON.stringify(o.defaultValue)}\`)`;
      return `| \`${o.flags}\` | ${escapeCell(o.description ?? '')}${escapeCell(dflt)} |`;
    });
}

/** docs/cli.md from the commander program: every command, its arguments and options, and its help text. */
export function renderCliDoc(program) {
  const lines = [
    '# CLI reference: `plinth`',
    '',
    '<!-- Generated by `node scripts/reference-docs.mjs` from the commander program (packages/cli/src); do not edit by hand.',
    '     packages/cli/test/cli-doc.test.ts fails when this page is out of date. -->',
    '',
    `${program.description()}. Install \`@plinth/cli\` (or run \`pnpm plinth\` in this repository). Every command`,
    'prints human output by default and JSON with `--json`, exits non-zero on failure, and never echoes secrets.',
    'Configuration comes from `PLINTH_*` variables (see [configuration.md](configuration.md)); flags win.',
    '',
    '## Global options',
    '',
    '| option | description |',
    '|---|---|',
    ...optionRows(program.options),
    '',
    '## Commands',
    '',
  ];
  const all = [];
  const walk = (c) => {
    for (const sub of c.commands) {
      if (sub.name() === 'help') continue;
      all.push(sub);
      walk(sub);
    }
  };
  walk(program);
  for (const c of all) lines.push(`- [\`${commandPath(c)}\`](#${commandPath(c).replace(/\s+/g, '-')})${c.description() ? ` — ${c.description().split('\n')[0]}` : ''}`);
  lines.push('');
  for (const c of all) {
    const path = commandPath(c);
    lines.push(`### ${path}`.replace(/^### (.*)$/, '<a id="' + path.replace(/\s+/g, '-') + '"></a>\n### `$1`'), '');
    if (c.description()) lines.push(c.description(), '');
    lines.push('```', `${path} ${c.usage()}`.trim(), '```', '');
    const args = c.registeredArguments ?? [];
    if (args.length) {
      lines.push('| argument | description |', '|---|---|');
      for (const a of args) lines.push(`| \`${a.required ? '<' : '['}${a.name()}${a.variadic ? '...' : ''}${a.required ? '>' : ']'}\` | ${escapeCell(a.description ?? '')} |`);
      lines.push('');
    }
    const opts = optionRows(c.options);
    if (opts.length) lines.push('| option | description |', '|---|---|', ...opts, '');
    const after = afterHelp(c);
    if (after) lines.push(after, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Text a command adds after its help (`addHelpText('after', ...)`), as commander prints it. */
function afterHelp(command) {
  let text = '';
  command.emit('afterHelp', { error: false, command, write: (t) => void (text += t) });
  return text.trim();
}

// ---------------------------------------------------------------- main

const root = new URL('../', import.meta.url);

async function main() {
  const check = process.argv.includes('--check');
  const ts = (await import('typescript')).default;
  const core = await import(new URL('packages/core/dist/index.js', root).href);
  const { createProgram } = await import(new URL('packages/cli/dist/index.js', root).href);
  const pages = {
    'docs/configuration.md': renderConfigurationDoc(core, readFileSync(new URL('packages/core/src/config.ts', root), 'utf8'), ts),
    'docs/cli.md': renderCliDoc(createProgram()),
  };
  let stale = 0;
  for (const [path, text] of Object.entries(pages)) {
    const url = new URL(path, root);
    let current = '';
    try {
      current = readFileSync(url, 'utf8');
    } catch {}
    if (current === text) continue;
    if (check) {
      console.error(`${path} is out of date: run node scripts/reference-docs.mjs`);
      stale++;
    } else {
      writeFileSync(url, text);
      console.log(`wrote ${path}`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
