import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './widgets-app.js';

/** Resolves with the connect error code, or 'connected'. */
function tryConnect(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('graceful shutdown', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('lets an in-flight request finish, refuses new connections, then resolves close()', async () => {
    app = await startApp({ shutdownTimeoutMs: 10_000 });
    const { url, gate, server } = app;
    expect((await fetch(`${url}/healthz`)).status).toBe(200); // leaves an idle keep-alive connection

    const slow = fetch(`${url}/v1/slow`);
    await gate.entered();

    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    expect(server.server.listening).toBe(false);
    expect(await tryConnect(url)).toBe('ECONNREFUSED');

    gate.open();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({ done: true });

    await closing;
    expect(closed).toBe(true);
    // The Plinth instance is closed with the server.
    await expect(app.plinth.start()).rejects.toMatchObject({ code: 'service.unavailable' });
  });

  it('resolves close() at once when nothing is in flight', async () => {
    app = await startApp();
    await fetch(`${app.url}/healthz`);
    const started = performance.now();
    await app.server.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await tryConnect(app.url)).toBe('ECONNREFUSED');
  });

  it('returns the same promise when close() is called twice', async () => {
    app = await startApp();
    const a = app.server.close();
    const b = app.server.close();
    expect(a).toBe(b);
    await a;
  });

  it('gives up on a request that never finishes after shutdownTimeoutMs', async () => {
    app = await startApp({ shutdownTimeoutMs: 300 });
    const { url, gate, server } = app;
    const stuck = fetch(`${url}/v1/slow`).then(
      (res) => res.status,
      (error: Error) => error.name,
    );
    await gate.entered();

    const started = performance.now();
    await server.close();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1500);
    expect(await stuck).toBe('TypeError'); // fetch failed: the connection was closed
    expect(await tryConnect(url)).toBe('ECONNREFUSED');
  });

  it('does not wait for a client that never finishes sending its headers', async () => {
    app = await startApp({ shutdownTimeoutMs: 300 });
    const { hostname, port } = new URL(app.url);
    const socket = net.connect(Number(port), hostname);
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n'); // no blank line: the request never starts
    await new Promise((resolve) => setTimeout(resolve, 50));

    const started = performance.now();
    await app.server.close();
    expect(performance.now() - started).toBeLessThan(1500);
    socket.destroy();
  });
});
