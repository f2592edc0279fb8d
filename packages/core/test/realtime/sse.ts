/** A minimal Server-Sent Events reader over fetch, for the tests: collects every message it reads. */
export interface SseMessage {
  id?: string;
  event: string;
  // biome-ignore lint: test JSON
  data: any;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** Events read so far (heartbeats excluded). */
  events: SseMessage[];
  /** Comment lines read so far. */
  comments: string[];
  /** `retry:` value the server advised. */
  retry: number | undefined;
  /** Resolves with the first collected event matching `match` (already read or still to come). */
  waitFor(match: (m: SseMessage) => boolean, what?: string, timeoutMs?: number): Promise<SseMessage>;
  /** Resolves once the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection & { problem?: any }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseMessage[] = [];
  const comments: string[] = [];
  const listeners = new Set<() => void>();
  let retry: number | undefined;
  if (!res.ok || !res.body) {
    const text = await res.text();
    return {
      status: res.status, headers: res.headers, events, comments, retry, problem: text ? JSON.parse(text) : undefined,
      waitFor: () => Promise.reject(new Error(`no stream: ${res.status}`)), ended: Promise.resolve(), close: () => undefined,
    };
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    let buffer = '';
    let current: { id?: string; event?: string; data: string[] } = { data: [] };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) !== -1) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (current.data.length || current.event) {
              events.push({ ...(current.id === undefined ? {} : { id: current.id }), event: current.event ?? 'message', data: JSON.parse(current.data.join('\n')) });
              for (const l of listeners) l();
            }
            current = { data: [] };
          } else if (line.startsWith(':')) comments.push(line.slice(1).trim());
          else {
            const colon = line.indexOf(':');
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') current.id = value;
            else if (field === 'event') current.event = value;
            else if (field === 'data') current.data.push(value);
            else if (field === 'retry') retry = Number(value);
          }
        }
      }
    } catch {
      // aborted by close()
    } finally {
      for (const l of listeners) l();
    }
  })();
  let closed = false;
  return {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    get retry() {
      return retry;
    },
    ended,
    waitFor(match, what = 'an event', timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            finish();
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(events.map((e) => [e.id, e.event]))}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    close() {
      if (closed) return;
      closed = true;
      controller.abort();
    },
  };
}
