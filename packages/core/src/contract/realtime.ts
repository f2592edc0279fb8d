import { z } from 'zod';
import { defineRoute } from './route.js';

export const realtimeErrors = {
  /** `topics` names a topic the caller may not read at all (not even their own events). */
  'realtime.topic_forbidden': 403,
  /** `Last-Event-ID` is not an id this server issued. */
  'realtime.invalid_event_id': 400,
  /** This process holds its most streams already (`realtime.maxConnections`); retry later. */
  'realtime.too_many_connections': 503,
} as const;
export type RealtimeErrorCode = keyof typeof realtimeErrors;

/** Topic names: lower-case words, as in `orders`, `notifications`. */
export const topicName = z.string().trim().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a topic is a lower-case name such as "orders"');

/** `?topics=orders,notifications` (or the parameter repeated): at least one, at most 20, deduplicated. */
export const topicsParam = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => [...new Set((Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean))])
  .pipe(z.array(topicName).min(1, 'name at least one topic').max(20));

/** An SSE event id: the position in the realtime log, a positive integer in decimal. */
export const eventIdSchema = z.string().regex(/^[1-9][0-9]{0,17}$/, 'an event id is a positive integer');

/** What each SSE message's `data:` line carries (its `id:` is `seq`, its `event:` is `type`). */
export const realtimeEventSchema = z.object({
  /** Position in the realtime log: increases in commit order; resume after it with `Last-Event-ID`. */
  seq: z.string(),
  /** The outbox event's id (stable across replays: use it to deduplicate). */
  eventId: z.string(),
  type: z.string(),
  topic: z.string(),
  aggregate: z.object({ type: z.string(), id: z.string() }).nullable(),
  payload: z.unknown(),
  createdAt: z.string(),
});
export type RealtimeEvent = z.output<typeof realtimeEventSchema>;

export const realtimeRoutes = {
  subscribeEvents: defineRoute({
    method: 'GET',
    path: '/v1/events',
    operationId: 'subscribeEvents',
    summary:
      'Server-Sent Events for the topics the caller may read (their own events; holders of the read-all permission: everyone\'s). ' +
      'Resume with `Last-Event-ID` (or `?lastEventId=`). Comment lines are heartbeats.',
    tags: ['realtime'],
    responseType: 'event-stream',
    query: z.object({
      topics: topicsParam,
      /** For clients that cannot set headers (browser `EventSource`): the access token. */
      access_token: z.string().min(1).max(4096).optional(),
      /** For clients that cannot set headers: where to resume; `Last-Event-ID` wins when both are sent. */
      lastEventId: eventIdSchema.optional(),
    }),
    response: realtimeEventSchema,
  }),
} as const;
