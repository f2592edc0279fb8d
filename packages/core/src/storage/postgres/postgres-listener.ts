import pg from 'pg';

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * LISTEN on a connection of its own (a pooled one would be handed to others).
 * A lost connection is re-opened with a growing delay, up to 5 s; meanwhile
 * callers keep polling, so a missed notification only delays work.
 */
export async function createPostgresListener(connectionString: string, channel: string, onNotify: () => void): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = 100;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
    next.on('notification', (message) => {
      if (message.channel === channel) onNotify();
    });
    next.on('error', () => reconnect(next));
    next.on('end', () => reconnect(next));
    await next.connect();
    await next.query(`listen ${quoteIdent(channel)}`);
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    delay = 100;
    onNotify(); // anything signalled while we were not listening is picked up now
  };

  const reconnect = (failed: pg.Client) => {
    if (closed || client !== failed || retryTimer) return;
    client = undefined;
    failed.end().catch(() => undefined);
    const retry = () => {
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        if (closed) return;
        connect().catch(() => {
          delay = Math.min(delay * 2, 5000);
          retry();
        });
      }, delay);
      retryTimer.unref();
    };
    retry();
  };

  await connect();
  return async () => {
    closed = true;
    clearTimeout(retryTimer);
    const current = client;
    client = undefined;
    await current?.end().catch(() => undefined);
  };
}
