// The smallest embedded Plinth: a backend on a SQLite file, ten lines.
import { createPlinth } from '@plinth/core';
import { createServer, handleShutdownSignals } from '@plinth/server';

const plinth = createPlinth();                        // PLINTH_* variables or ./.plinth/plinth.db
await plinth.start();                                 // connects and migrates
const server = createServer(plinth);
handleShutdownSignals(server, plinth.logger);         // SIGTERM/SIGINT: drain, close the database
const { url } = await server.listen();
console.log(`quickstart listening on ${url}`);
