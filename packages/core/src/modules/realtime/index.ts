import { z } from 'zod';
import type { DispatchedEvent } from '../../jobs/dispatcher.js';
import { defineModule } from '../../module.js';
import { realtimeMigrations } from './migrations.js';
import { realtimeRouteImplementations } from './routes.js';
import { createRealtimeService, type RealtimeService } from './service.js';
import { defaultTopics, type TopicDefinitions } from './topics.js';

export interface RealtimeModuleOptions {
  /** Topics callers may subscribe to; default `defaultTopics` (`orders`, `notifications`). */
  topics?: TopicDefinitions;
}

const dispatchedEvent = z.object({
  id: z.string(),
  type: z.string(),
  aggregate: z.object({ type: z.string(), id: z.string() }).nullable(),
  payload: z.unknown(),
  createdAt: z.string(),
});

/**
 * Realtime: committed outbox events of the topics' types become entries of the realtime log
 * (a subscriber job, in order per aggregate), which `GET /v1/events` streams as Server-Sent
 * Events to the callers allowed to read them.
 */
export function createRealtimeModule(options: RealtimeModuleOptions = {}) {
  const topics = options.topics ?? defaultTopics;
  // One subscriber pattern per topic entry: `order.` → `order.*`; exact names stay exact.
  const subscribers: Record<string, string> = {};
  for (const topic of Object.values(topics)) for (const e of topic.events) subscribers[e.endsWith('.') ? `${e}*` : e] = 'realtime.publish';
  return defineModule({
    name: 'realtime',
    dependsOn: ['access'],
    migrations: realtimeMigrations,
    routes: realtimeRouteImplementations,
    services: (kernel) => createRealtimeService(kernel, topics),
    jobs: {
      'realtime.publish': {
        payload: dispatchedEvent,
        maxAttempts: 25,
        backoff: { baseMs: 200, maxMs: 30_000 },
        async handler({ payload, kernel }) {
          await kernel.service<RealtimeService>('realtime').publish(payload as DispatchedEvent);
        },
      },
      'realtime.prune': {
        cron: '17 * * * *',
        async handler({ kernel }) {
          await kernel.service<RealtimeService>('realtime').prune();
        },
      },
    },
    subscribers,
    onClose: async (kernel) => kernel.service<RealtimeService>('realtime').close(),
  });
}

/** Realtime with the default topics. */
export const realtimeModule = createRealtimeModule();

export type { RealtimeService, SubscribeOptions, ResetNotice } from './service.js';
export type { TopicDefinition, TopicDefinitions, TopicEvent } from './topics.js';
export { defaultTopics } from './topics.js';
