/**
 * The shop's server: Plinth embedded in a Node app, with the wishlists module,
 * the HTTP server and a job worker in one process (split them with
 * `plinth worker` when you scale out).
 */
import { createWorker } from '@plinth/core';
import { createServer } from '@plinth/server';
import { createShop, seedShop } from './app.js';

const plinth = createShop(); // PLINTH_* variables, or ./.plinth/plinth.db
await plinth.start(); // connects and migrates (the wishlists migration included)
const { SHOP_STAFF_EMAIL, SHOP_STAFF_PASSWORD } = process.env;
if (SHOP_STAFF_EMAIL && SHOP_STAFF_PASSWORD) await seedShop(plinth, { email: SHOP_STAFF_EMAIL, password: SHOP_STAFF_PASSWORD });

const worker = createWorker(plinth);
await worker.start();
const server = createServer(plinth);
const { url } = await server.listen();

// SIGTERM/SIGINT: finish running jobs (or hand them back), drain requests, close the database.
let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) process.exit(1); // a second signal: now
  stopping = true;
  plinth.logger.info({ signal }, 'shutting down');
  worker
    .stop()
    .then(() => server.close())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        plinth.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(`shop listening on ${url}`);
