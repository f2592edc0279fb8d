/**
 * Floor: the fastest a node:http server on this machine answers a small JSON
 * body. Every HTTP scenario is read as a fraction of this.
 */
import http from 'node:http';
import { closeServer, listenLocal } from '../lib/listen.mjs';

export const summary = 'plain node:http answering {"status":"ok"}';

const BODY = JSON.stringify({ status: 'ok' });
const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(BODY) };

export async function start() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, HEADERS);
    res.end(BODY);
  });
  const url = await listenLocal(server);
  return {
    url,
    target: { path: '/healthz' },
    sample: { path: '/healthz', body: { status: 'ok' } },
    close: () => closeServer(server),
  };
}
