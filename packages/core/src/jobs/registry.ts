import type { z } from 'zod';
import { PlinthError } from '../errors.js';
import type { AnyModule } from '../module.js';
import { nextTick } from './cron.js';
import type { JobDefinition } from './types.js';

export const DEFAULT_QUEUE = 'default';
const TYPE_NAME = /^[a-z][a-z0-9_.:-]{0,99}$/;
const QUEUE_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;

export interface RegisteredJobType {
  name: string;
  module: string;
  definition: JobDefinition;
  queue: string;
  /** Explicit attempts, else undefined (the configured default applies). */
  maxAttempts: number | undefined;
}

/** Every job type and outbox subscriber the loaded modules declare, checked once. */
export interface JobRegistry {
  readonly types: ReadonlyMap<string, RegisteredJobType>;
  /** Event type → job types each event of it becomes. */
  readonly subscribers: ReadonlyMap<string, readonly string[]>;
  /** Job types with a `cron` schedule. */
  readonly scheduled: readonly RegisteredJobType[];
}

const invalid = (message: string) => new PlinthError('modules.invalid', message);

export function isQueueName(name: string): boolean {
  return QUEUE_NAME.test(name);
}

export function buildJobRegistry(modules: readonly AnyModule[], eventSchemas: ReadonlyMap<string, z.ZodType>): JobRegistry {
  const types = new Map<string, RegisteredJobType>();
  for (const m of modules) {
    for (const [name, definition] of Object.entries(m.jobs ?? {})) {
      if (!TYPE_NAME.test(name)) throw invalid(`Job type "${name}" of module "${m.name}": use lower-case letters, digits and . : _ -`);
      const owner = types.get(name);
      if (owner) throw invalid(`Job type "${name}" is declared by both "${owner.module}" and "${m.name}"`);
      if (typeof definition?.handler !== 'function') throw invalid(`Job type "${name}" of module "${m.name}" has no handler`);
      const queue = definition.queue ?? DEFAULT_QUEUE;
      if (!QUEUE_NAME.test(queue)) throw invalid(`Job type "${name}": invalid queue name "${queue}"`);
      const { maxAttempts, timeoutMs, cron } = definition;
      if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw invalid(`Job type "${name}": maxAttempts must be a whole number >= 1`);
      if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw invalid(`Job type "${name}": timeoutMs must be > 0`);
      if (cron !== undefined) {
        try {
          nextTick(cron, Date.now());
        } catch (error) {
          throw invalid(`Job type "${name}": invalid cron expression "${cron}": ${(error as Error).message}`);
        }
      }
      types.set(name, { name, module: m.name, definition, queue, maxAttempts });
    }
  }
  const subscribers = new Map<string, string[]>();
  for (const m of modules) {
    for (const [pattern, targets] of Object.entries(m.subscribers ?? {})) {
      // `order.*` (or `*`) subscribes to every declared event type with that prefix, possibly none.
      const wildcard = pattern === '*' || pattern.endsWith('.*');
      const events = wildcard ? [...eventSchemas.keys()].filter((e) => e.startsWith(pattern.slice(0, -1))) : [pattern];
      if (!wildcard && !eventSchemas.has(pattern)) throw invalid(`Module "${m.name}" subscribes to "${pattern}", which no module declares`);
      for (const target of typeof targets === 'string' ? [targets] : targets) {
        if (!types.has(target)) throw invalid(`Module "${m.name}" subscribes "${target}" to "${pattern}", but no module declares that job type`);
        for (const event of events) {
          const list = subscribers.get(event) ?? [];
          if (!list.includes(target)) list.push(target);
          subscribers.set(event, list);
        }
      }
    }
  }
  return { types, subscribers, scheduled: [...types.values()].filter((t) => t.definition.cron !== undefined) };
}
