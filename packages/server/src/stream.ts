import type { ServerResponse } from 'node:http';
import type { StreamedBody } from '@plinth/core/contract';
import { type HeaderList, putHeader } from './headers.js';

/** Checks that a `stream` route's handler answered a `StreamedBody`. */
export function isStreamedBody(value: unknown): value is StreamedBody {
  const v = value as StreamedBody | null;
  return typeof v === 'object' && v !== null && typeof v.contentType === 'string' && typeof v.chunks?.[Symbol.asyncIterator] === 'function';
}

/**
 * Writes a streamed answer: the first chunk is pulled before the head is sent
 * (a failure before any output is still a problem answer), then each chunk is
 * written as it comes, waiting for `drain` when the socket's buffer is full, so
 * memory stays bounded whatever the size. A client that goes away stops the
 * iteration (its `return()` runs: cursors and transactions close).
 */
export async function writeStream(res: ServerResponse, status: number, headers: HeaderList, body: StreamedBody): Promise<void> {
  const iterator = body.chunks[Symbol.asyncIterator]();
  let first = await iterator.next();
  putHeader(headers, 'content-type', body.contentType);
  if (body.filename) putHeader(headers, 'content-disposition', `attachment; filename="${body.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  putHeader(headers, 'cache-control', 'no-store');
  res.writeHead(status, headers);
  let gone = false;
  const onClose = () => {
    gone = true;
  };
  res.once('close', onClose);
  try {
    for (let step = first; !step.done; step = await iterator.next()) {
      if (gone) break;
      if (step.value.length && !res.write(step.value)) await drained(res);
    }
    first = { done: true, value: undefined };
  } finally {
    res.off('close', onClose);
    if (gone || !first.done) await iterator.return?.();
  }
  if (gone) res.destroy();
  else res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
