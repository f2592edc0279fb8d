import { PlinthError } from './errors.js';
import type { AnyModule } from './module.js';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Checks the module list (unique names, known dependencies, no cycles) and
 * orders it so that every module comes after the modules it depends on;
 * otherwise the given order is kept.
 */
export function orderModules(modules: readonly AnyModule[]): AnyModule[] {
  const byName = new Map<string, AnyModule>();
  for (const m of modules) {
    if (!m || typeof m.name !== 'string' || !NAME.test(m.name)) {
      throw new PlinthError('modules.invalid', `Invalid module name "${String(m?.name)}": use lower-case letters, digits and dashes`);
    }
    if (byName.has(m.name)) throw new PlinthError('modules.invalid', `Module "${m.name}" is loaded twice`);
    byName.set(m.name, m);
  }
  const ordered: AnyModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: AnyModule, path: string[]) => {
    if (state.get(m.name) === 'done') return;
    if (state.get(m.name) === 'visiting') {
      throw new PlinthError('modules.invalid', `Module dependency cycle: ${[...path, m.name].join(' → ')}`);
    }
    state.set(m.name, 'visiting');
    for (const dep of m.dependsOn ?? []) {
      const target = byName.get(dep);
      if (!target) throw new PlinthError('modules.invalid', `Module "${m.name}" depends on "${dep}", which is not loaded`);
      visit(target, [...path, m.name]);
    }
    state.set(m.name, 'done');
    ordered.push(m);
  };
  for (const m of modules) visit(m, []);

  const seenMigrations = new Set<string>();
  const seenEvents = new Map<string, string>();
  for (const m of ordered) {
    for (const mig of m.migrations ?? []) {
      if (seenMigrations.has(`${m.name}/${mig.name}`)) {
        throw new PlinthError('modules.invalid', `Module "${m.name}" declares migration "${mig.name}" twice`);
      }
      seenMigrations.add(`${m.name}/${mig.name}`);
    }
    for (const type of Object.keys(m.events ?? {})) {
      const owner = seenEvents.get(type);
      if (owner) throw new PlinthError('modules.invalid', `Event "${type}" is declared by both "${owner}" and "${m.name}"`);
      seenEvents.set(type, m.name);
    }
  }
  return ordered;
}
