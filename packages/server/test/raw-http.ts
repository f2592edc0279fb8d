/** Raw HTTP/1.1 over a socket, for requests `fetch` cannot express (bad paths, chunked bodies, lying headers). */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body as JSON, when it parses. */
  json<T = Record<string, any>>(): T;
}

/**
 * Sends `head` (request line and headers, without the blank line) and then each
 * of `chunks`, reads until the server closes, and parses the first response.
 */
export function rawRequest(url: string, head: string, chunks: (string | Buffer)[] = []): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const received: Buffer[] = [];
    socket.on('connect', () => {
      const headers = head.includes('\r\nconnection:') ? head : `${head}\r\nconnection: close`;
      socket.write(`${headers}\r\n\r\n`);
      for (const chunk of chunks) if (!socket.destroyed) socket.write(chunk);
    });
    socket.on('data', (data) => received.push(data));
    const finish = () => {
      try {
        resolve(parse(Buffer.concat(received).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    };
    socket.on('end', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may reset a connection whose body it refused; keep what arrived.
      if (received.length > 0) finish();
      else reject(error);
    });
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`raw request timed out: ${head.split('\r\n')[0]}`));
    });
  });
}

function parse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) throw new Error(`incomplete response: ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const status = Number(statusLine!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = text.slice(split + 4);
  if (headers['content-length'] !== undefined) body = body.slice(0, Number(headers['content-length']));
  return { status, headers, body, json: () => JSON.parse(body) };
}

/** One chunk of a chunked request body. */
export const chunk = (data: string): string => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
export const lastChunk = '0\r\n\r\n';
