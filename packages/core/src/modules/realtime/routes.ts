import type { Credentials } from '../../auth.js';
import { realtimeRoutes } from '../../contract/realtime.js';
import { implement } from '../../module.js';
import type { RealtimeService } from './service.js';

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** `GET /v1/events`: parse, open the stream, hand it to the server. */
export const realtimeRouteImplementations = [
  implement(realtimeRoutes.subscribeEvents, (ctx) => {
    const { headers, query } = ctx;
    // The credentials this stream was opened with, checked again about once a heartbeat.
    const credentials: Credentials = {
      authorization: headers.authorization ?? (query.access_token ? `Bearer ${query.access_token}` : undefined),
      apiKey: first(headers['x-api-key']),
      ip: ctx.ip,
      userAgent: headers['user-agent'],
    };
    return ctx.kernel.service<RealtimeService>('realtime').subscribe({
      actor: ctx.actor,
      topics: query.topics,
      lastEventId: first(headers['last-event-id']) || query.lastEventId,
      signal: ctx.signal,
      reauthenticate: () => ctx.kernel.authenticate(credentials),
    });
  }),
];
