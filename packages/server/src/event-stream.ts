import type { IncomingMessage, ServerResponse } from 'node:http';
import { type EventStream, formatStreamMessage, type Logger } from '@plinth/core';
import { type HeaderList, putHeader } from './headers.js';

/** Controllers of requests whose handler asked for `ctx.signal`; the server aborts them on close. */
export type OpenStreams = Set<AbortController>;

/** The request's abort signal: aborted when the response closes (client gone, or done) or the server closes. */
export function openStreamSignal(req: IncomingMessage, res: ServerResponse, streams: OpenStreams): AbortSignal {
  const controller = new AbortController();
  streams.add(controller);
  const done = () => {
    streams.delete(controller);
    controller.abort();
  };
  if (res.closed || req.destroyed) done();
  else res.once('close', done);
  return controller.signal;
}

/**
 * Writes an event stream. Pull-based: the next message is taken from the iterator only once the
 * socket has room (`write()` answered true, or `drain` came). A client whose buffer stays full for
 * `stream.writeTimeoutMs` is disconnected: memory per client is bounded by the socket's
 * high-water mark plus one message, and the client resumes with `Last-Event-ID`.
 */
export async function writeEventStream(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: HeaderList,
  stream: EventStream,
  streams: OpenStreams,
  log: Logger,
): Promise<void> {
  if (typeof stream?.[Symbol.asyncIterator] !== 'function') throw new Error(`Handler for ${req.url} must return an EventStream`);
  putHeader(headers, 'content-type', 'text/event-stream; charset=utf-8');
  putHeader(headers, 'cache-control', 'no-store');
  putHeader(headers, 'x-accel-buffering', 'no'); // nginx: do not buffer the stream
  res.writeHead(status, headers);
  res.flushHeaders();
  req.socket.setNoDelay(true);
  req.socket.setKeepAlive(true, 30_000);
  // Held by `streams` (so server close aborts it) and ended when the response closes.
  const signal = openStreamSignal(req, res, streams);
  if (stream.retryMs !== undefined) res.write(`retry: ${stream.retryMs}\n\n`);
  const iterator = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (signal.aborted) break;
      const next = await iterator.next();
      if (next.done || signal.aborted) break;
      if (!res.write(formatStreamMessage(next.value)) && !(await drained(res, signal, stream.writeTimeoutMs))) {
        if (!signal.aborted) log.info({ url: req.url }, 'event stream client too slow: disconnected');
        res.destroy();
        break;
      }
    }
  } catch (error) {
    log.error({ err: error }, 'event stream failed');
  } finally {
    await iterator.return?.().catch(() => undefined);
    if (!res.destroyed) res.end();
  }
}

/** Resolves true on `drain`, false on timeout or abort. */
function drained(res: ServerResponse, signal: AbortSignal, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = () => finish(true);
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    res.on('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
