import { EventEmitter } from 'node:events';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdminApp, colorsEnabled, keyBindings, runAdmin } from './index.js';
import { closedPortUrl, startTestServer, type TestServer } from './test-server.js';

/** Waits until the last frame contains `text`, and returns that frame. */
async function frameWith(lastFrame: () => string | undefined, text: string): Promise<string> {
  return vi.waitFor(
    () => {
      const frame = lastFrame() ?? '';
      if (!frame.includes(text)) throw new Error(`"${text}" not in frame:\n${frame}`);
      return frame;
    },
    { timeout: 5000, interval: 10 },
  );
}

describe('admin console', () => {
  let server: TestServer;
  const unmounts: (() => void)[] = [];
  const show = (node: Parameters<typeof render>[0]) => {
    const view = render(node);
    unmounts.push(view.unmount);
    return view;
  };

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterEach(() => {
    for (const unmount of unmounts.splice(0)) unmount();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('shows the server it talks to, connecting…, then healthy', async () => {
    const { lastFrame } = show(<AdminApp baseUrl={server.url} />);
    const first = lastFrame() ?? '';
    expect(first).toContain('Plinth admin');
    expect(first).toContain(`Server ${server.url}`);
    expect(first).toContain('connecting…');

    const frame = await frameWith(lastFrame, 'healthy');
    expect(frame).not.toContain('connecting…');
    expect(frame).toContain('q quit');
    expect(frame).toContain('r refresh');
  });

  it('shows a readable error line, not a stack trace, when the server cannot be reached', async () => {
    const url = await closedPortUrl();
    const { lastFrame } = show(<AdminApp baseUrl={url} />);
    const frame = await frameWith(lastFrame, 'Could not reach');
    expect(frame).toContain(`Could not reach ${url} (connection refused)`);
    expect(frame).not.toMatch(/\bat .+:\d+:\d+/);
    expect(frame).not.toContain('PlinthApiError');
  });

  it('shows an invalid URL as an error line too', async () => {
    const { lastFrame } = show(<AdminApp baseUrl="not a url" />);
    expect(await frameWith(lastFrame, 'baseUrl is not a valid URL: not a url')).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('checks again on r', async () => {
    let calls = 0;
    const client = {
      health: async () => {
        calls++;
        if (calls === 1) throw new Error('first check fails');
        return { status: 'ok' as const };
      },
    };
    const { lastFrame, stdin } = show(<AdminApp baseUrl="http://example.test" client={client} />);
    await frameWith(lastFrame, 'first check fails');
    stdin.write('r');
    await frameWith(lastFrame, 'healthy');
    expect(calls).toBe(2);
  });

  it('quits on q: runAdmin resolves', async () => {
    const stdin = new FakeStdin();
    const stdout = new FakeStdout();
    const done = runAdmin({ baseUrl: server.url, stdin: stdin as never, stdout: stdout as never, color: false });
    // Keys are read once Ink has subscribed to stdin.
    await vi.waitFor(() => expect(stdin.listenerCount('readable')).toBeGreaterThan(0), { timeout: 5000, interval: 10 });
    stdin.write('q');
    await expect(done).resolves.toBeUndefined();
    expect(stdout.output()).toContain('Plinth admin');
  });

  it('rejects a base URL that is not http(s) before drawing anything', async () => {
    await expect(runAdmin({ baseUrl: 'ftp://example.test' })).rejects.toThrow(/http/);
  });

  it('honours NO_COLOR and lists its keys from one table', () => {
    expect(colorsEnabled({ NO_COLOR: '1' })).toBe(false);
    expect(colorsEnabled({ NO_COLOR: '' })).toBe(true);
    expect(colorsEnabled({})).toBe(true);
    expect(keyBindings.map((b) => b.key)).toEqual(['q', 'r']);
  });
});

/** A TTY-like stdin, as Ink reads it (the same shape ink-testing-library uses). */
class FakeStdin extends EventEmitter {
  isTTY = true;
  #data: string | null = null;
  write(data: string) {
    this.#data = data;
    this.emit('readable');
    this.emit('data', data);
  }
  read() {
    const data = this.#data;
    this.#data = null;
    return data;
  }
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

class FakeStdout extends EventEmitter {
  columns = 100;
  isTTY = false;
  readonly writes: string[] = [];
  write(chunk: string) {
    this.writes.push(chunk);
    return true;
  }
  output() {
    return this.writes.join('');
  }
}
