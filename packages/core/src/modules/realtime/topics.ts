/**
 * Terminology of realtime.
 *
 * - topic: what a caller subscribes to (`orders`, `notifications`): a set of event types
 *   (by prefix) and the permission that reads them.
 * - owner: the user an event is about (default: the payload's `userId`). A caller holding only
 *   `<permission>:own` receives the events they own; a holder of `<permission>` receives all.
 * - realtime log: committed outbox events in commit order (`plinth_realtime_events`), each with a
 *   `seq`, the SSE event id. Kept `realtime.retentionHours` so a reconnect replays what it missed.
 */
import { PlinthError } from '../../errors.js';

/** What a topic needs to know about an event to route and authorize it. */
export interface TopicEvent {
  type: string;
  aggregate: { type: string; id: string } | null;
  payload: unknown;
}

export interface TopicDefinition {
  /** Event types of this topic: exact names, or prefixes ending in `.` (`order.` for every `order.*`). */
  events: readonly string[];
  /**
   * Permission that reads every event of the topic (checked with `can()` per event, against the
   * event's owner); its `:own` form reads the caller's own events only.
   */
  permission: string;
  /** The user the event belongs to; default the payload's `userId` (string), else nobody. */
  ownerOf?: (event: TopicEvent) => string | null;
}

export type TopicDefinitions = Readonly<Record<string, TopicDefinition>>;

/**
 * The built-in topics. `notifications` carries the notifications module's `notification.*`
 * events once it is loaded (each has the recipient's `userId`); until then it is simply quiet.
 */
export const defaultTopics: TopicDefinitions = {
  orders: { events: ['order.'], permission: 'orders:read' },
  notifications: { events: ['notification.'], permission: 'notifications:read' },
};

const TOPIC_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

export function defaultOwnerOf(event: TopicEvent): string | null {
  const userId = (event.payload as { userId?: unknown } | null)?.userId;
  return typeof userId === 'string' && userId !== '' ? userId : null;
}

/** Event type → topic, resolved once from the declared event types. */
export interface TopicIndex {
  readonly topics: TopicDefinitions;
  /** Every declared event type some topic carries, with its topic name. */
  readonly byEvent: ReadonlyMap<string, string>;
}

export function indexTopics(topics: TopicDefinitions, eventTypes: Iterable<string>): TopicIndex {
  const byEvent = new Map<string, string>();
  for (const [name, topic] of Object.entries(topics)) {
    if (!TOPIC_NAME.test(name)) throw new PlinthError('modules.invalid', `Realtime topic "${name}": use a lower-case name such as "orders"`);
    if (!topic.permission || !Array.isArray(topic.events) || topic.events.length === 0) {
      throw new PlinthError('modules.invalid', `Realtime topic "${name}" needs a permission and at least one event type`);
    }
  }
  for (const type of eventTypes) {
    for (const [name, topic] of Object.entries(topics)) {
      if (!topic.events.some((e) => (e.endsWith('.') ? type.startsWith(e) : type === e))) continue;
      const other = byEvent.get(type);
      if (other && other !== name) throw new PlinthError('modules.invalid', `Event "${type}" belongs to both realtime topics "${other}" and "${name}"`);
      byEvent.set(type, name);
    }
  }
  return { topics, byEvent };
}
