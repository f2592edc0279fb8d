import type { Actor } from '../../auth.js';
import { unauthenticated } from '../../auth.js';
import { realtimeErrors, type RealtimeErrorCode, type RealtimeEvent } from '../../contract/realtime.js';
import { PlinthError } from '../../errors.js';
import type { EventStream, StreamMessage } from '../../event-stream.js';
import type { DispatchedEvent } from '../../jobs/dispatcher.js';
import type { KernelContext } from '../../module.js';
import { createRealtimeHub, type RealtimeHub } from './hub.js';
import { appendToLog, type LogEntry, logHead, pruneLog, readLog } from './log.js';
import { defaultOwnerOf, indexTopics, type TopicDefinitions, type TopicIndex } from './topics.js';

const READ_BATCH = 200;
const EVENT_ID = /^[0-9]{1,18}$/;

export interface SubscribeOptions {
  actor: Actor | null;
  /** Topic names (`orders`, `notifications`). */
  topics: readonly string[];
  /** Resume after this event id (the SSE `Last-Event-ID`); default: only events from now on. */
  lastEventId?: string | undefined;
  /** Ends the stream (the client went away). */
  signal: AbortSignal;
  /**
   * Called about once a heartbeat: the stream's credentials again. A throw (expired token,
   * revoked session) or `null` ends the stream, and the client reconnects with fresh ones.
   */
  reauthenticate?: () => Promise<Actor | null>;
}

/** Sent (without an id) before the events when a resume cannot be gapless. */
export interface ResetNotice {
  /** `expired`: events after `Last-Event-ID` were pruned; `unknown_id`: the id is ahead of this log. */
  reason: 'expired' | 'unknown_id';
  /** Events after this one follow. */
  resumedAfter: string;
}

export interface RealtimeService {
  /** Opens a stream of the topics' events the actor may read, after commit, in commit order. */
  subscribe(options: SubscribeOptions): Promise<EventStream>;
  /** Appends a committed outbox event to the log (the `realtime.publish` job); answers whether it was new. */
  publish(event: DispatchedEvent): Promise<boolean>;
  /** Deletes log entries older than `realtime.retentionHours`; answers how many. */
  prune(): Promise<number>;
  /** Streams open in this process. */
  readonly connections: number;
  /** Ends every open stream (module close). */
  close(): Promise<void>;
}

function realtimeError(code: RealtimeErrorCode, message: string): PlinthError {
  return new PlinthError(code, message, { status: realtimeErrors[code] });
}

function publicEvent(entry: LogEntry): RealtimeEvent {
  return {
    seq: String(entry.seq),
    eventId: entry.eventId,
    type: entry.type,
    topic: entry.topic,
    aggregate: entry.aggregate,
    payload: entry.payload,
    createdAt: entry.createdAt,
  };
}

export function createRealtimeService(kernel: KernelContext, topics: TopicDefinitions): RealtimeService {
  const config = kernel.config.realtime;
  let index: TopicIndex | undefined;
  // Built on first use: every module (and its event types) is known by then.
  const topicIndex = () => (index ??= indexTopics(topics, kernel.modules.flatMap((m) => Object.keys(m.events ?? {}))));
  let hub: RealtimeHub | undefined;
  const theHub = () => (hub ??= createRealtimeHub(kernel));
  const closing = new AbortController();
  let connections = 0;

  async function mayRead(actor: Actor, entry: LogEntry): Promise<boolean> {
    const topic = topics[entry.topic];
    if (!topic) return false;
    return kernel.can(actor, topic.permission, {
      type: entry.aggregate?.type ?? entry.topic,
      ...(entry.aggregate ? { id: entry.aggregate.id } : {}),
      ownerId: entry.ownerId,
    });
  }

  async function subscribe(options: SubscribeOptions): Promise<EventStream> {
    if (!options.actor) throw unauthenticated();
    let actor: Actor = options.actor;
    if (closing.signal.aborted) throw new PlinthError('service.unavailable', 'The server is shutting down');
    const names = [...new Set(options.topics)];
    const unknown = names.filter((name) => !Object.hasOwn(topics, name));
    if (names.length === 0 || unknown.length) {
      throw new PlinthError('validation.failed', unknown.length ? `Unknown topic: ${unknown.join(', ')}` : 'Name at least one topic', {
        errors: [{ path: 'topics', message: `Topics are: ${Object.keys(topics).join(', ')}`, code: 'invalid_value' }],
      });
    }
    for (const name of names) {
      // `p:own` holds for holders of `p` too: may the caller read at least their own events here?
      if (!(await kernel.can(actor, `${topics[name]!.permission}:own`))) {
        throw realtimeError('realtime.topic_forbidden', `You may not subscribe to "${name}"`);
      }
    }
    const resumeFrom = options.lastEventId?.trim() || undefined;
    if (resumeFrom !== undefined && !EVENT_ID.test(resumeFrom)) throw realtimeError('realtime.invalid_event_id', 'Last-Event-ID is not an event id of this server');
    if (connections >= config.maxConnections) throw realtimeError('realtime.too_many_connections', 'This server holds its most event streams; try again later');

    topicIndex();
    await theHub().start();
    const head = await logHead(kernel);
    let cursor = head.seq;
    let reset: ResetNotice | undefined;
    if (resumeFrom !== undefined) {
      cursor = Number(resumeFrom);
      if (cursor > head.seq) {
        reset = { reason: 'unknown_id', resumedAfter: String(head.seq) };
        cursor = head.seq;
      } else if (cursor < head.prunedSeq) {
        reset = { reason: 'expired', resumedAfter: String(head.prunedSeq) };
        cursor = head.prunedSeq;
      }
    }

    const wanted = new Set(names);
    const signal = AbortSignal.any([options.signal, closing.signal]);
    const heartbeatMs = config.heartbeatSeconds * 1000;
    const h = theHub();

    // Counted from the first read to the end: a stream the server never started holds nothing.
    async function* events(): AsyncGenerator<StreamMessage> {
      connections++;
      try {
        if (reset) yield { event: 'reset', data: JSON.stringify(reset) };
        let lastSent = Date.now();
        let lastAuth = Date.now();
        while (!signal.aborted) {
          if (options.reauthenticate && Date.now() - lastAuth >= heartbeatMs) {
            lastAuth = Date.now();
            const next = await options.reauthenticate().catch(() => null);
            if (!next) return; // expired or revoked: the client reconnects with fresh credentials
            actor = next;
          }
          const known = h.head;
          let batch = h.after(cursor, READ_BATCH);
          let caughtUpTo: number | undefined;
          if (batch === undefined) {
            // Behind the ring: read this stream's topics from the database. A short read holds
            // every matching entry up to `known` (all committed, as the hub has read them).
            batch = await readLog(kernel, cursor, READ_BATCH, { topics: names });
            if (batch.length < READ_BATCH) caughtUpTo = known;
          }
          for (const entry of batch) {
            if (signal.aborted) return;
            cursor = entry.seq;
            if (!wanted.has(entry.topic) || !(await mayRead(actor, entry))) continue;
            yield { id: String(entry.seq), event: entry.type, data: JSON.stringify(publicEvent(entry)) };
            lastSent = Date.now();
          }
          if (caughtUpTo !== undefined && caughtUpTo > cursor) cursor = caughtUpTo;
          if (batch.length || caughtUpTo !== undefined) continue;
          const idle = Date.now() - lastSent;
          if (idle >= heartbeatMs) {
            yield { comment: 'heartbeat' };
            lastSent = Date.now();
            continue;
          }
          await h.changed(signal, heartbeatMs - idle);
        }
      } finally {
        connections--;
      }
    }
    return { [Symbol.asyncIterator]: events, writeTimeoutMs: config.writeTimeoutMs, retryMs: 1000 };
  }

  return {
    subscribe,
    async publish(event) {
      const topic = topicIndex().byEvent.get(event.type);
      if (!topic) return false;
      const definition = topics[topic]!;
      const ownerOf = definition.ownerOf ?? defaultOwnerOf;
      const appended = await appendToLog(kernel, event, topic, ownerOf({ type: event.type, aggregate: event.aggregate, payload: event.payload }));
      if (appended) hub?.poke(); // this process's streams read it now; others hear NOTIFY or poll
      return appended;
    },
    prune: () => pruneLog(kernel, new Date(kernel.clock.now() - config.retentionHours * 3_600_000)),
    get connections() {
      return connections;
    },
    async close() {
      closing.abort();
      await hub?.close();
    },
  };
}
