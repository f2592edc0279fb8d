import type { Logger } from '@plinth/core';
import type { PlinthServer } from './create-server.js';

/**
 * Closes the server gracefully on SIGTERM/SIGINT: stop accepting, finish
 * in-flight requests (bounded), close the database, then exit. A second
 * signal exits at once. Returns a function that removes the handlers.
 */
export function handleShutdownSignals(server: PlinthServer, logger: Logger, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): () => void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
