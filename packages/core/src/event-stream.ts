/**
 * What a route with `responseType: 'event-stream'` returns: Server-Sent Events the server writes
 * as the iterator yields them. The server pulls the next message only when the client has taken
 * the previous ones, so a stream never buffers without bound.
 */
export interface StreamMessage {
  /** `id:` (becomes the client's `Last-Event-ID`). */
  id?: string;
  /** `event:` (the event type). */
  event?: string;
  /** `data:` (may hold newlines; each line is sent as its own `data:` line). */
  data?: string;
  /** A comment line (`: ...`), e.g. a heartbeat. */
  comment?: string;
}

export interface EventStream extends AsyncIterable<StreamMessage> {
  /** A client that takes no data for this long while its send buffer is full is disconnected, in ms. */
  readonly writeTimeoutMs: number;
  /** Reconnect delay to advise the client (`retry:`), in ms; default none. */
  readonly retryMs?: number;
}

/** Encodes one message in the `text/event-stream` format. */
export function formatStreamMessage(message: StreamMessage): string {
  let out = '';
  if (message.comment !== undefined) out += `: ${message.comment.replace(/[\r\n]+/g, ' ')}\n`;
  if (message.id !== undefined) out += `id: ${message.id.replace(/[\r\n\0]/g, '')}\n`;
  if (message.event !== undefined) out += `event: ${message.event.replace(/[\r\n]/g, '')}\n`;
  if (message.data !== undefined) for (const line of message.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}
