/**
 * Floor of sign-in over HTTP: a plain node:http server that answers the same
 * POST bodies as `plinth-sign-in` with the same Argon2id verification (OWASP
 * parameters) and nothing else (no database, no token). Against `argon2-loop`
 * it shows what HTTP and the load generator, which shares the machine's cores,
 * take from the hash alone; sign-in against it shows what Plinth adds.
 */
import http from 'node:http';
import { hash, verify } from '@node-rs/argon2';
import { closeServer, listenLocal } from '../lib/listen.mjs';
import { PASSWORD } from './lib-identity.mjs';

export const summary = 'plain node:http verifying the password (Argon2id OWASP) per POST';


export async function start() {
  const stored = await hash(PASSWORD, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const { password } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const ok = await verify(stored, password);
      const body = JSON.stringify({ ok });
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const url = await listenLocal(server);
  const bodies = Array.from({ length: 200 }, (_, i) => JSON.stringify({ email: `bench-${i}@example.com`, password: PASSWORD }));
  return {
    url,
    target: { path: '/v1/auth/sign-in', method: 'POST', bodies },
    sample: { method: 'POST', path: '/v1/auth/sign-in', requestBody: bodies[0], body: { ok: true } },
    close: () => closeServer(server),
  };
}
